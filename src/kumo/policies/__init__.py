"""Pluggable policies of the cloud OS.

Every built-in policy registers itself when its module is imported; :mod:`kumo.policies.registry` imports
them all on the first lookup that needs them (``make``, ``names``, ``kinds``, ``all_policies``), so importing
this package stays cheap.
"""

from kumo.policies.registry import get, make, names, register

__all__ = ["get", "make", "names", "register"]
