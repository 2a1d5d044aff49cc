"""Pluggable policies of the cloud OS; importing this package registers every built-in one."""

from kumo.policies import detection, placement, placement_dedup, selection  # noqa: F401
from kumo.policies.registry import get, make, names, register

__all__ = ["get", "make", "names", "register"]
