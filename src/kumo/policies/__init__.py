"""Pluggable policies of the cloud OS; importing this package registers every built-in one."""

from kumo.policies import detection, placement, placement_dedup, selection  # noqa: F401
from kumo.policies import kohne  # noqa: F401  (after selection: it builds selection policies)
from kumo.policies import consolidation  # noqa: F401  (after detection and selection)
import kumo.federation.brokers  # noqa: F401  (federation broker and site policies)
from kumo.policies.registry import get, make, names, register

__all__ = ["get", "make", "names", "register"]
