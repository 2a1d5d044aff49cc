"""One contract suite over every registered policy: frozen dataclass, documented, pure, valid defaults."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_scenario, make_trace

from kumo.engine import Engine
from kumo.errors import UnknownPolicyError
from kumo.policies import registry

ALL = [(kind, name, cls) for kind, table in sorted(registry.all_policies().items()) for name, cls in sorted(table.items())]


@pytest.mark.parametrize(("kind", "name", "cls"), ALL, ids=[f"{k}:{n}" for k, n, _ in ALL])
def test_policy_is_a_documented_frozen_dataclass_with_valid_defaults(kind, name, cls):
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen, f"{kind}:{name} must be frozen"
    assert cls.__doc__ and cls.__doc__.strip(), f"{kind}:{name} needs a docstring citing its source"
    obj = registry.make(kind, name)
    if hasattr(obj, "validate"):
        assert obj.validate() == []
    for f in dataclasses.fields(obj):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, f.name, None)


PLACEMENT = [(k, n) for k, n, _ in ALL if k in ("filter", "weigher")]


@pytest.mark.parametrize(("kind", "name"), PLACEMENT, ids=[f"{k}:{n}" for k, n in PLACEMENT])
def test_placement_policies_are_pure_and_shaped(kind, name):
    tr = make_trace([[300, 600, 900]], booked_cpu=[1000, 1000, 1000])
    sc = make_scenario(hosts=((3, 2, 1000.0, 4096.0),))
    e = Engine(sc, tr)
    e.step(0)
    before = {k: v.copy() for k, v in vars(e.state).items() if isinstance(v, np.ndarray)}
    pol = registry.make(kind, name)
    out = pol.mask(e.view, 0) if kind == "filter" else pol.score(e.view, 0)
    assert np.shape(out) == (3,)
    if kind == "filter":
        assert np.asarray(out).dtype == bool
    for k, v in before.items():
        assert np.array_equal(v, getattr(e.state, k)), f"{kind}:{name} changed state.{k}"


def test_view_is_read_only():
    tr = make_trace([[300]])
    e = Engine(make_scenario(), tr)
    with pytest.raises(ValueError, match="read-only"):
        e.view.host_cpu_booked[0] = 1.0


def test_unknown_names_list_valid_ones_and_duplicates_are_errors():
    with pytest.raises(UnknownPolicyError, match="valid: .*free-cpu"):
        registry.make("weigher", "nope")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("weigher", "first")(type(registry.make("weigher", "first")))
    with pytest.raises(ValueError, match="unknown parameter"):
        registry.make("filter", "cpu-demand", {"bogus": 1})


def test_flipping_a_weigher_sign_flips_the_choice():
    from kumo.config import PlacementSpec
    from kumo.policies.placement import Placer

    tr = make_trace([[10, 10, 10, 100]], booked_cpu=[100, 500, 900, 100])
    sc = make_scenario(hosts=((3, 1, 1000.0, 4096.0),))
    e = Engine(sc, tr)
    # put one VM of each size on each host by hand
    for vm in range(3):
        e.state.vm_host[vm] = vm
        e.state.vm_state[vm] = 1
        e._book(vm, vm, +1)
    for mult, expect in ((1.0, 0), (-1.0, 2)):
        p = Placer.from_spec(PlacementSpec(preset=None, weighers=[{"name": "free-cpu", "multiplier": mult}]))
        ok, _ = p.feasible(e.view, 3)
        assert p.rank(e.view, 3, ok, np.random.default_rng(0)) == expect
