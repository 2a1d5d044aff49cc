"""One-line builders for tiny federations (used by the test_federation* modules)."""

from __future__ import annotations

from typing import Any


def dc(name: str = "dc", jurisdiction: str = "DE", hosts: int = 1, cores: int = 1, mhz: float = 1000.0,
       ram_mb: float = 4096.0, **kw: Any) -> dict[str, Any]:
    """A data center of ``hosts`` identical hosts (no overcommit unless given in ``host``)."""
    host = {"count": hosts, "cores": cores, "core_mhz": mhz, "ram_mb": ram_mb,
            "power": {"kind": "linear", "idle_w": 100, "max_w": 200}, **kw.pop("host", {})}
    return {"name": name, "jurisdiction": jurisdiction, "hosts": [host], **kw}


def provider(name: str, *dcs: dict[str, Any], offer: float = 0.0, partner_scale: float = 1.0, **kw: Any) -> dict[str, Any]:
    """A provider with list prices 1 per vCPU-hour, 0 per GB-hour (scaled), sharing ``offer`` of its capacity."""
    return {"name": name, "datacenters": list(dcs) or [dc()],
            "prices": {"customer": {"per_vcpu_hour": 1.0, "per_gb_hour": 0.0},
                       "partner": {"per_vcpu_hour": 1.0, "per_gb_hour": 0.0, "scale": partner_scale}},
            "sharing": {"offer_fraction": offer, **kw.pop("sharing", {})}, **kw}


def federation(*providers: dict[str, Any], customers: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    """A federation dict; default: one customer of the first provider."""
    cust = customers or [{"name": "acme", "provider": providers[0]["name"]}]
    return {"name": "t", "providers": list(providers), "customers": cust, **kw}
