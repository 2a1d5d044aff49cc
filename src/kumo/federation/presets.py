"""Provisioning models as presets: private, community, public and hybrid clouds, and a three-provider
federation for comparing brokers; each returns a federation dict (edit it, then
:func:`kumo.federation.parse_federation`).

The workload is the embedded Bitbrains month split over three customers of one organization (the same
split in every model, so the models compare on the same VMs):

* ``finance`` (30 %, gold SLA): data must stay in Germany (``DE``), the residency constraint;
* ``web`` (40 %): anywhere in the EU (region ``EU``);
* ``analytics`` (30 %): anywhere.

Money assumptions, stated once (every one is a parameter of the spec): the public price list is Kohne's
calibrated level (kohne-sla-scheduling.md §5: 0.0484 per vCPU-hour + 0.00649 per GB-hour, about 0.19
per mean VM-hour); penalties are service credits: 0.05 per CPU or RAM break (a 5-minute step; about
three times that step's price), gold 0.20 with a price factor of 1.5, and 10 % of the VM's revenue per
broken uptime day. A host (16 cores, 32 GB, 100-250 W) costs 1.10 per hour in a private park, 1.00 in a
community member's park and 0.55 at a hyperscaler (economies of scale); PUE 1.6 private, 1.4 community,
1.15 public; energy 0.25 per kWh in Germany, 0.20 in France and the Netherlands, 0.18 in Ireland and
0.10 in the US.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["CUSTOMERS", "PRESETS", "community_cloud", "hybrid_cloud", "preset", "private_cloud", "public_cloud",
           "three_providers"]

PUBLIC_PRICE = {"per_vcpu_hour": 0.0484, "per_gb_hour": 0.00649}
HOST = {"name": "std-16c-32g", "cores": 16, "core_mhz": 2600, "ram_mb": 32768, "nic_mbps": 1000,
        "power": {"kind": "linear", "idle_w": 100, "max_w": 250}, "cpu_overcommit": 4.0, "ram_overcommit": 3.5}
TEMPLATES = {
    "standard": {"penalties": {"cpu": {"kind": "fixed", "value": 0.05}, "ram": {"kind": "fixed", "value": 0.05},
                               "uptime": {"kind": "revenue-fraction", "value": 0.10}}},
    "gold": {"price_factor": 1.5,
             "penalties": {"cpu": {"kind": "fixed", "value": 0.20}, "ram": {"kind": "fixed", "value": 0.20},
                           "uptime": {"kind": "revenue-fraction", "value": 0.10}}},
}
REGIONS = {"EU": ["DE", "FR", "NL", "IE"]}
#: a 6-hour outage of the organization's primary site on day 10 (12:00-18:00), the same in every model
OUTAGE = {"start_h": 228.0, "duration_h": 6.0}
#: the organization's three customers: (name, share, SLA class, allowed jurisdictions)
CUSTOMERS = (("finance", 0.3, "gold", ["DE"]), ("web", 0.4, "standard", ["EU"]), ("analytics", 0.3, "standard", None))


def _dc(name: str, jurisdiction: str, location: str, count: int, energy: float, pue: float, hardware: float,
        outage: bool = False, **host: Any) -> dict[str, Any]:
    out = {"name": name, "location": location, "jurisdiction": jurisdiction, "energy_price_per_kwh": energy,
           "pue": pue, "hardware_per_host_hour": hardware, "hosts": [{**HOST, "count": count, **host}],
           "placement": {"preset": "worst-fit", "resource": "binding"}}
    if outage:
        out["outages"] = [dict(OUTAGE)]
    return out


def _customers(provider: str | list[str], residency: bool = True, **extra: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, (name, share, sla, where) in enumerate(CUSTOMERS):
        home = provider if isinstance(provider, str) else provider[i]
        c: dict[str, Any] = {"name": name, "provider": home, "share": share, "sla_class": sla}
        if residency and where is not None:
            c["allowed_jurisdictions"] = where
        c.update(extra.get(name, {}))
        out.append(c)
    return out


def _provider(name: str, dcs: list[dict[str, Any]], price_scale: float = 1.0, partner_scale: float | None = None,
              **kw: Any) -> dict[str, Any]:
    cust = {**PUBLIC_PRICE, "scale": price_scale}
    partner = cust if partner_scale is None else {**PUBLIC_PRICE, "scale": partner_scale}
    return {"name": name, "datacenters": dcs, "prices": {"customer": cust, "partner": partner},
            "sla_templates": copy.deepcopy(TEMPLATES), **kw}


def _spec(name: str, model: str, description: str, providers: list[dict[str, Any]], customers: list[dict[str, Any]],
          broker: str = "cheapest", **kw: Any) -> dict[str, Any]:
    return {"name": name, "model": model, "description": description, "trace": {"source": "bitbrains-rnd"},
            "broker": {"name": broker}, "regions": copy.deepcopy(REGIONS), "providers": providers,
            "customers": customers, **kw}


def private_cloud(hosts: int = 30, residency: bool = True, outage: bool = True) -> dict[str, Any]:
    """The organization's own park in Frankfurt, no partners: what does not fit is rejected, and an
    outage of the site is downtime for every VM."""
    corp = _provider("corp", [_dc("fra", "DE", "Frankfurt", hosts, 0.25, 1.6, 1.10, outage)], internal=True,
                     partners=[])
    return _spec(f"private-{hosts}", "private", f"own park of {hosts} hosts, no partners", [corp],
                 _customers("corp", residency))


def public_cloud(hosts_per_dc: int = 20, residency: bool = True, outage: bool = True) -> dict[str, Any]:
    """A hyperscaler with three sites (Frankfurt, Dublin, Virginia) and a price list; the site policy
    puts VMs where energy is cheapest among the sites a customer may use; when Frankfurt is down, its VMs
    restart at another site they may use."""
    dcs = [_dc("fra", "DE", "Frankfurt", hosts_per_dc, 0.25, 1.15, 0.55, outage),
           _dc("dub", "IE", "Dublin", hosts_per_dc, 0.18, 1.15, 0.55),
           _dc("iad", "US", "Virginia", hosts_per_dc, 0.10, 1.15, 0.55)]
    hyper = _provider("hyper", dcs, site={"name": "cheapest-energy"})
    return _spec("public" + ("" if residency else "-no-residency"), "public",
                 f"hyperscaler, 3 sites x {hosts_per_dc} hosts, list prices", [hyper], _customers("hyper", residency))


def community_cloud(hosts_per_member: int = 15, residency: bool = True, partner_scale: float = 0.5,
                    outage: bool = True) -> dict[str, Any]:
    """Three member organizations (DE, FR, NL) pooling their parks: each offers all its capacity to the
    others at a cost-sharing price (``partner_scale`` x the public list); the broker sends overflow to the
    least-utilized member (equal prices); when the German member's site is down, its VMs restart at the
    other members if they may."""
    members = []
    for name, j, loc, energy in (("member-de", "DE", "Frankfurt", 0.25), ("member-fr", "FR", "Paris", 0.20),
                                 ("member-nl", "NL", "Amsterdam", 0.20)):
        members.append(_provider(name, [_dc("dc", j, loc, hosts_per_member, energy, 1.4, 1.00, outage and j == "DE")],
                                 partner_scale=partner_scale, internal=True, sharing={"offer_fraction": 1.0},
                                 failover="federation"))
    return _spec("community" + ("" if residency else "-no-residency"), "community",
                 f"3 members x {hosts_per_member} hosts pooling capacity", members,
                 _customers([m["name"] for m in members], residency))


def hybrid_cloud(private_hosts: int = 30, public_hosts_per_dc: int = 20, residency: bool = True,
                 sensitive_private_only: bool = False, outage: bool = True) -> dict[str, Any]:
    """The private park bursting to the hyperscaler when full, and failing over to it when the own site
    is down. ``sensitive_private_only``: the finance customer's VMs may never leave the own park (a
    security rule: allowed_providers = [corp])."""
    pub = public_cloud(public_hosts_per_dc, outage=False)["providers"][0]
    pub["sharing"] = {"offer_fraction": 1.0, "bid_surge": 0.0}
    corp = _provider("corp", [_dc("fra", "DE", "Frankfurt", private_hosts, 0.25, 1.6, 1.10, outage)], internal=True,
                     partners=["hyper"], failover="federation")
    extra = {"finance": {"allowed_providers": ["corp"]}} if sensitive_private_only else {}
    name = "hybrid" + ("" if residency else "-no-residency") + ("-finance-private" if sensitive_private_only else "")
    return _spec(name, "hybrid", f"{private_hosts} own hosts bursting to a public cloud", [corp, pub],
                 _customers("corp", residency, **extra))


def three_providers(broker: str = "cheapest", hosts: tuple[int, int, int] = (12, 18, 6),
                    broker_params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Three public providers sharing half their capacity, each with one customer (20 %, 30 %, 50 % of
    the VMs, drawn at random), so that ``gamma`` (6 hosts) overflows to ``alpha`` (12) and ``beta`` (18):

    * ``alpha`` (DE): cheapest partner price (0.6 x list) but packs hard (CPU overcommit 8, RAM 6), so
      the VMs it hosts break often; publishes a 95 % break-free record;
    * ``beta`` (FR): dearest (0.85 x list), conservative (CPU 3, RAM 3.5); publishes 99.9 %;
    * ``gamma`` (IE): small park (0.7 x list, CPU 4, RAM 3.5); publishes 99 %.
    """
    provs = [
        _provider("alpha", [_dc("fra", "DE", "Frankfurt", hosts[0], 0.25, 1.3, 0.55, cpu_overcommit=8.0,
                                ram_overcommit=6.0)], partner_scale=0.60, sharing={"offer_fraction": 0.5},
                  reputation=0.95),
        _provider("beta", [_dc("par", "FR", "Paris", hosts[1], 0.20, 1.2, 0.60, cpu_overcommit=3.0)],
                  partner_scale=0.85, sharing={"offer_fraction": 0.5}, reputation=0.999),
        _provider("gamma", [_dc("dub", "IE", "Dublin", hosts[2], 0.18, 1.2, 0.55)], partner_scale=0.70,
                  sharing={"offer_fraction": 0.5}, reputation=0.99),
    ]
    customers = [{"name": f"{p['name']}-clients", "provider": p["name"], "share": share}
                 for p, share in zip(provs, (0.2, 0.3, 0.5), strict=True)]
    spec = _spec(f"three-providers-{broker}", "federation", "three providers sharing half their capacity", provs,
                 customers, broker=broker, federation={"customer_assignment": "random"})
    if broker_params:
        spec["broker"]["params"] = dict(broker_params)
    return spec


PRESETS: dict[str, Callable[..., dict[str, Any]]] = {
    "private": private_cloud,
    "community": community_cloud,
    "public": public_cloud,
    "hybrid": hybrid_cloud,
    "three-providers": three_providers,
}


def preset(name: str, **params: Any) -> dict[str, Any]:
    """The dict of preset ``name`` with ``params``; an unknown name lists the valid ones."""
    if name not in PRESETS:
        raise KeyError(f"unknown provisioning preset {name!r}; valid: {', '.join(PRESETS)}")
    return PRESETS[name](**params)
