"""One contract suite, per kind, over every registered policy and preset (the built-in ones, kumo's studies'
and the plugin examples in examples/plugins): frozen and documented, valid defaults, wrongly typed
parameters reported by name, and on a tiny cluster: purity (nothing it is given changes), the shapes and
dtypes of its answers, and determinism for a seed."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario, make_trace

import kumo.federation.brokers  # noqa: F401  (the federation's policy kinds)
from kumo import plugins
from kumo.api import Decision, PlannedCluster, SelectionContext
from kumo.engine import Engine
from kumo.errors import UnknownPolicyError
from kumo.policies import registry
from kumo.policies.placement import Placer

EXAMPLES = Path(__file__).parents[1] / "examples" / "plugins"
for _f in sorted(EXAMPLES.glob("*.py")):
    plugins.load(str(_f))
sys.path.insert(0, str(EXAMPLES / "package" / "src"))
plugins.load("kumo_efficient")

CLASSES = [(k, n) for k, table in sorted(registry.all_policies().items()) for n in sorted(table)]
PRESETS = [(k, n) for k, table in sorted(registry.all_presets().items()) for n in sorted(table)]
EVERY = CLASSES + PRESETS


def ids(items):
    return [f"{k}:{n}" for k, n in items]


def of(kind):
    return [(k, n) for k, n in EVERY if k == kind]


# ------------------------------------------------------------------------------------------------ all kinds
@pytest.mark.parametrize(("kind", "name"), EVERY, ids=ids(EVERY))
def test_frozen_documented_with_valid_defaults(kind, name):
    cls = registry.get(kind, name)
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen, f"{kind}:{name} must be frozen"
    assert cls.__doc__ and cls.__doc__.strip(), f"{kind}:{name} needs a docstring citing its source"
    assert registry.contract_problems(kind, cls) == []
    obj = registry.make(kind, name)
    assert registry.validate(obj) == []
    for f in dataclasses.fields(obj):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, f.name, None)


def _wrong(value):
    """A value of another type than ``value`` (what a typo in a TOML file gives)."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float) or value is None:
        return "lots"
    if isinstance(value, str):
        return 3.5
    return 7


@pytest.mark.parametrize(("kind", "name"), EVERY, ids=ids(EVERY))
def test_wrongly_typed_parameters_are_reported_by_name(kind, name):
    obj = registry.make(kind, name)
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        bad = dataclasses.replace(obj, **{f.name: _wrong(getattr(obj, f.name))})
        problems = registry.validate(bad)
        assert any(p.startswith(f"{f.name}:") for p in problems), (f.name, problems)
    with pytest.raises(ValueError, match="unknown parameter"):
        registry.make(kind, name, {"no_such_parameter": 1})


# ------------------------------------------------------------------------------------------------ a tiny cluster
def _engine(controller=None, seed=3):
    rng = np.random.default_rng(7)
    booked = np.array([1000, 500, 2000, 1000, 500, 1500])
    cpu = rng.uniform(0.1, 1.0, (12, 6)) * booked
    ram = rng.uniform(200, 1500, (12, 6))
    tr = make_trace(cpu, ram=ram, booked_cpu=booked, booked_ram=[2048] * 6)
    ctl = {"name": "none"} if controller is None else controller
    sc = make_scenario(hosts=((4, 2, 1500.0, 8192.0),), cpu_overcommit=2.0, seed=seed,
                       placement={"preset": "first-fit", "resource": "cpu"}, controller=ctl)
    return Engine(sc, tr)


def _snapshot(e):
    return {k: v.copy() for k, v in vars(e.state).items() if isinstance(v, np.ndarray)}


def _same(before, e):
    for k, v in before.items():
        assert np.array_equal(v, getattr(e.state, k)), f"state.{k} changed"


@pytest.mark.parametrize(("kind", "name"), of("filter"), ids=ids(of("filter")))
def test_filter_masks_every_host_and_is_pure(kind, name):
    e = _engine()
    e.step(0)
    before = _snapshot(e)
    pol = registry.make(kind, name)
    for vm in range(e.state.vms.n):
        m = pol.mask(e.view, vm)
        assert np.shape(m) == (e.state.hosts.n,) and np.asarray(m).dtype == bool
        assert np.array_equal(m, pol.mask(e.view, vm))  # deterministic
    _same(before, e)
    plan = PlannedCluster(e.view)  # a controller's what-if copy is read the same way
    assert np.shape(pol.mask(plan, 0)) == (e.state.hosts.n,)


@pytest.mark.parametrize(("kind", "name"), of("weigher"), ids=ids(of("weigher")))
def test_weigher_scores_the_hosts_it_is_given_finitely_and_is_pure(kind, name):
    e = _engine()
    e.step(0)
    before = _snapshot(e)
    pol = registry.make(kind, name)
    for hosts in (np.arange(e.state.hosts.n), np.array([1, 3]), np.array([2])):
        s = pol.score(e.view, 0, hosts)
        assert np.shape(s) == hosts.shape
        assert np.all(np.isfinite(np.asarray(s, dtype=np.float64)))
        assert np.array_equal(s, pol.score(e.view, 0, hosts))
        assert np.array_equal(np.asarray(pol.score(PlannedCluster(e.view), 0, hosts)), np.asarray(s))
    _same(before, e)


@pytest.mark.parametrize(("kind", "name"), of("detection"), ids=ids(of("detection")))
def test_detector_answers_one_bool_per_host_and_is_pure(kind, name):
    rng = np.random.default_rng(1)
    n, h = 9, 30
    util = rng.uniform(0, 1.2, n)
    hist = rng.uniform(0, 1, (n, h))
    hist_len = rng.integers(1, h + 1, n)
    copies = (util.copy(), hist.copy(), hist_len.copy())
    pol = registry.make(kind, name)
    out = pol.overloaded(util, hist, hist_len)
    assert np.shape(out) == (n,) and np.asarray(out).dtype == bool
    assert np.array_equal(out, pol.overloaded(util, hist, hist_len))
    for a, b in zip((util, hist, hist_len), copies, strict=True):
        assert np.array_equal(a, b)


def _context(k):
    rng = np.random.default_rng(4)
    return SelectionContext(
        vm_index=np.arange(10, 10 + k), ram_mb=rng.choice([512.0, 1024.0, 2048.0], k),
        cpu_demand_mhz=rng.uniform(50, 900, k), cpu_booked_mhz=np.full(k, 1000.0),
        ram_demand_mb=rng.uniform(100, 500, k), ram_booked_mb=np.full(k, 512.0),
        history=rng.uniform(0, 1, (k, 30)), hist_len=np.full(k, 30), host_cpu_mhz=2000.0, host_ram_mb=4096.0,
        host_cpu_used_mhz=1900.0, host_ram_used_mb=3900.0, upper_cpu=0.8, upper_ram=0.8)


@pytest.mark.parametrize(("kind", "name"), of("selection"), ids=ids(of("selection")))
def test_selector_picks_a_candidate_deterministically_and_is_pure(kind, name):
    pol = registry.make(kind, name)
    for k in (1, 3, 6):
        ctx = _context(k)
        copies = {f.name: np.copy(getattr(ctx, f.name)) for f in dataclasses.fields(ctx)}
        p = pol.pick(ctx, np.random.default_rng(0))
        assert isinstance(p, int | np.integer) and -1 <= p < k
        assert p == pol.pick(ctx, np.random.default_rng(0))
        for f, v in copies.items():
            assert np.array_equal(getattr(ctx, f), v)
    assert pol.pick(_context(3).take(np.array([], np.int64)), np.random.default_rng(0)) == -1


def _controller_run(name, seed=3):
    e = _engine({"name": name, "params": {}}, seed=seed)
    seen = []
    apply = e.migrations.apply

    def recording(d, t):
        assert d is None or isinstance(d, Decision)
        seen.append(d)
        apply(d, t)

    e.migrations.apply = recording
    original = e.controller.decide

    def pure_decide(view, memory, rng):
        before = _snapshot(e)
        d = original(view, memory, rng)
        _same(before, e)  # deciding changes nothing; only the engine applies
        return d

    object.__setattr__(e, "controller", _Wrapped(e.controller, pure_decide))
    for k in range(e.trace.n_steps):
        e.step(k)
        assert e.state.check() == []
    return seen


@dataclasses.dataclass(frozen=True)
class _Wrapped:
    inner: object
    decide_fn: object

    def init_memory(self, view):
        return self.inner.init_memory(view)

    def decide(self, view, memory, rng):
        return self.decide_fn(view, memory, rng)


@pytest.mark.parametrize(("kind", "name"), of("controller"), ids=ids(of("controller")))
def test_controller_decides_purely_validly_and_deterministically(kind, name):
    a = _controller_run(name)
    b = _controller_run(name)
    assert a == b  # the same seed, the same decisions
    assert len(a) == 12


@pytest.mark.parametrize(("kind", "name"), of("broker"), ids=ids(of("broker")))
def test_broker_declines_without_partners(kind, name):
    from kumo.federation.brokers import Quotes

    empty = np.zeros(0)
    q = Quotes(provider=empty.astype(int), list_price=empty, utilization=empty, bid_surge=empty,
               ok_steps=np.zeros((2, 0)), steps=np.zeros((2, 0)), customer_price=1.0)
    i, _ = registry.make(kind, name).choose(q, np.random.default_rng(0))
    assert i == -1


# ------------------------------------------------------------------------------------------------ the registry
def test_unknown_names_list_valid_ones_and_duplicates_are_errors():
    from kumo.errors import PluginError

    with pytest.raises(UnknownPolicyError, match="valid: .*free-cpu"):
        registry.make("weigher", "nope")
    with pytest.raises(PluginError, match="registered twice"):
        registry.register("weigher", "first")(type(registry.make("weigher", "first")))
    with pytest.raises(PluginError, match="registered twice"):
        registry.register_preset("weigher", "free-cpu", "free-booked", {})
    with pytest.raises(ValueError, match="unknown parameter"):
        registry.make("filter", "cpu-demand", {"bogus": 1})


def test_presets_are_data_over_their_base():
    p = registry.preset("weigher", "free-ram")
    assert p is not None and p.base == "free-booked" and dict(p.params) == {"resource": "ram"}
    w = registry.make("weigher", "free-ram")
    assert type(w) is registry.get("weigher", "free-booked") and w.resource == "ram"
    assert registry.make("weigher", "free-ram", {"resource": "cpu"}).resource == "cpu"  # overrides win


def test_flipping_a_weigher_sign_flips_the_choice():
    tr = make_trace([[10, 10, 10, 100]], booked_cpu=[100, 500, 900, 100])
    e = Engine(make_scenario(hosts=((3, 1, 1000.0, 4096.0),)), tr)
    for vm in range(3):  # one VM of each size on each host
        e.state.vm_host[vm] = vm
        e.state.vm_state[vm] = 1
        e.core.book(vm, vm, +1)
    for mult, expect in ((1.0, 0), (-1.0, 2)):
        p = Placer.build(weighers=[("free-cpu", mult, {})])
        ok = np.ones(3, bool)
        assert p.choose(e.view, 3, ok) == expect
        assert p.rank(e.view, 3, ok)[0] == expect


def test_every_array_a_view_hands_out_is_read_only():
    e = _engine()
    e.step(0)
    v = e.view
    arrays = {name: getattr(v, name) for name in dir(v) if not name.startswith("_")
              and isinstance(getattr(v, name), np.ndarray)}
    arrays |= {f"hosts.{f.name}": getattr(v.hosts, f.name) for f in dataclasses.fields(v.hosts)
               if isinstance(getattr(v.hosts, f.name), np.ndarray)}
    arrays |= {f"vms.{f.name}": getattr(v.vms, f.name) for f in dataclasses.fields(v.vms)
               if isinstance(getattr(v.vms, f.name), np.ndarray)}
    assert len(arrays) >= 15 + 8 + 6
    for name, a in arrays.items():
        with pytest.raises(ValueError, match="read-only"):
            a[...] = a  # every element, whatever the dtype
        assert not a.flags.writeable, name
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.hosts.cpu_mhz = np.zeros(4)
    plan = PlannedCluster(v)
    for name in ("host_cpu_demand", "host_ram_demand", "host_cpu_booked", "host_ram_booked", "host_n_vms", "host_on"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(plan, name)[0] = 0
