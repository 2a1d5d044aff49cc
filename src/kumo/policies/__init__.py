"""Pluggable policies of the cloud OS; importing this package registers every built-in one."""

import kumo.federation.brokers  # noqa: F401  (federation broker and site policies)
from kumo.policies import (  # noqa: F401
    consolidation,  # noqa: F401  (after detection and selection)
    detection,
    kohne,  # noqa: F401  (after selection: it builds selection policies)
    placement,
    placement_dedup,
    selection,
)
from kumo.policies.registry import get, make, names, register

__all__ = ["get", "make", "names", "register"]
