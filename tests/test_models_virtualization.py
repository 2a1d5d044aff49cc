"""The virtualization bundle (config, hooks), the dedup weigher and the ``kumo model`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_scenario, make_trace
from typer.testing import CliRunner

from kumo.engine import Engine
from kumo.errors import ConfigError
from kumo.models.migration import MIGRATION_MODELS
from kumo.models.virt_config import VirtualizationConfig, from_dict, to_dict
from kumo.models.virtualization import Virtualization
from kumo.policies import registry
from kumo.state import ClusterView, _ro

A = np.array
IDS = [f"vm{i}" for i in range(8)]
FULL = {
    "memory": {}, "cpu": {}, "io": {}, "replication": {},
    "failures": {"kind": "exponential", "mtbf_h": 100.0},
    "images": [{"name": "ubuntu", "preset": "homogeneous"}],
    "classes": [
        {"name": "web", "share": 0.5, "image": "ubuntu", "protected": True},
        {"name": "nfv", "share": 0.25, "io_mode": "sriov"},
        {"name": "ctr", "share": 0.25, "kind": "container"},
    ],
}


def test_from_dict_reports_every_problem_with_its_path():
    _, problems = from_dict({
        "memory": {"balloon_max_fraction": 2, "bogus": 1},
        "cpu": {"base_overhead": "x"},
        "classes": [{"image": "nope", "kind": "vmm", "match": "("}],
        "failures": {"kind": "trace"},
        "class_assignment": "zigzag",
    })
    assert "virtualization.memory.balloon_max_fraction: must be in [0, 1], got 2.0" in problems
    assert any(p.startswith("virtualization.memory.bogus: unknown key; valid:") for p in problems)
    assert "virtualization.cpu.base_overhead: must be a number, got 'x'" in problems
    assert any(p.startswith("virtualization.classes[0].kind: unknown value 'vmm'") for p in problems)
    assert any(p.startswith("virtualization.classes[0].match: not a regular expression") for p in problems)
    assert any(p.startswith("virtualization.classes[0].image: unknown image 'nope'") for p in problems)
    assert any(p.startswith("virtualization.failures.events:") for p in problems)
    assert any(p.startswith("virtualization.class_assignment:") for p in problems)
    with pytest.raises(ConfigError):
        Virtualization.build({"memory": {"swap_device": "tape"}}, IDS)


def test_to_dict_round_trips_through_json():
    cfg, problems = from_dict(FULL)
    assert problems == []
    again, p2 = from_dict(json.loads(json.dumps(to_dict(cfg))))
    assert p2 == [] and again == cfg
    assert from_dict({})[0] == VirtualizationConfig() and VirtualizationConfig().memory is None


def test_class_assignment_rules():
    cfg = {"classes": [{"name": "a", "share": 3}, {"name": "b", "share": 1}, {"name": "c", "match": "^db"}]}
    ids = ["db1", "x1", "x2", "db2", "x3", "x4", "x5", "x6", "x7", "x8"]
    blocks = Virtualization.build(cfg, ids).vm_class
    assert blocks.tolist() == [2, 0, 0, 2, 0, 0, 0, 0, 1, 1]
    rr = Virtualization.build(dict(cfg, class_assignment="round-robin"), ids).vm_class
    assert sorted(rr[[1, 2, 4, 5, 6, 7, 8, 9]].tolist()) == [0] * 6 + [1] * 2
    r1 = Virtualization.build(dict(cfg, class_assignment="random"), ids, seed=3).vm_class
    assert np.array_equal(r1, Virtualization.build(dict(cfg, class_assignment="random"), ids, seed=3).vm_class)


def test_static_per_vm_facts():
    v = Virtualization.build(FULL, IDS)
    assert v.vm_class.tolist() == [0, 0, 0, 0, 1, 1, 2, 2]
    assert v.can_migrate.tolist() == [True] * 4 + [False] * 4  # SR-IOV pinned, containers without C/R
    assert v.pinned.tolist() == [False] * 4 + [True, True, False, False]
    assert v.vm_image.tolist() == [0] * 4 + [-1] * 4
    assert v.vm_protected.tolist() == [True] * 4 + [False] * 4
    assert v.vm_cpu_mode[6] == 0 and v.vm_io_mode[6] == 0  # containers run native
    assert (v.has_cpu, v.has_memory, v.has_io, v.has_replication, v.has_failures) == (True,) * 5
    off = Virtualization.build({}, IDS)
    assert (off.has_cpu, off.has_memory, off.has_io, off.has_replication, off.has_failures) == (False,) * 5


def test_dirty_rate_rules():
    cpu, booked = np.full(8, 500.0), np.full(8, 1000.0)
    extra = {"disk_write_kbps": np.full(8, 1000.0), "net_rx_kbps": np.zeros(8)}
    for source, expect in (("param", 200.0), ("cpu", 100.0), ("cpu+io", 100.0 + 1000 * 1024 * 8 / 1e6)):
        v = Virtualization.build({"dirty_rate": {"source": source}}, IDS)
        assert v.dirty_mbps(cpu, booked, extra) == pytest.approx(np.full(8, expect))


def test_cpu_demand_identity_when_models_are_off():
    v = Virtualization.build({}, IDS)
    cpu = np.linspace(0, 1000, 8)
    d = v.cpu_demand(cpu, np.full(8, 2600.0))
    assert np.array_equal(d.effective_mhz, cpu) and np.all(d.useful_factor == 1) and np.all(d.overhead_mhz == 0)


def test_cpu_demand_with_every_model():
    v = Virtualization.build(FULL, IDS)
    cpu = np.full(8, 1000.0)
    extra = {k: np.full(8, 1000.0) for k in ("net_rx_kbps", "net_tx_kbps", "disk_read_kbps", "disk_write_kbps")}
    host = A([0, 0, 0, 0, 1, 1, 1, 1])
    d = v.cpu_demand(cpu, np.full(8, 2600.0), host, A([1000.0, 1000.0]), extra, None, np.full(8, 4096.0))
    assert np.all(d.effective_mhz[:6] > cpu[:6]) and np.all(d.effective_mhz[6:] == cpu[6:])
    assert np.all(d.useful_factor[:4] < 1) and np.all(d.useful_factor[4:] == 1)  # Remus pauses
    assert np.all(d.net_mbps[:4] > d.net_mbps[4:])  # replication traffic on the NIC


def test_ram_demand_hook_and_dedup_effect():
    v = Virtualization.build(FULL, IDS)
    used, booked = np.full(8, 1000.0), np.full(8, 4096.0)
    together = v.ram_demand(used, booked, A([0, 0, 0, 0, 1, 1, 1, 1]), A([16384.0, 16384.0]))
    apart = v.ram_demand(used, booked, A([0, 0, 1, 1, 0, 0, 1, 1]), A([16384.0, 16384.0]))
    # the same image co-located shares more, so the cluster needs less
    assert together.host_shared_mb.sum() > apart.host_shared_mb.sum()
    assert together.host_after_sharing_mb.sum() < apart.host_after_sharing_mb.sum()
    with pytest.raises(RuntimeError):
        Virtualization.build({}, IDS).ram_demand(used, booked, np.zeros(8, int), A([1e5]))


def test_migration_bandwidth_and_timing():
    v = Virtualization.build(FULL, IDS)
    bw = v.migration_bandwidth_mbps(A([0, 0]), A([1, 2]), A([1000.0] * 3), A([200.0, 0.0, 0.0]), A([2, 1, 1]))
    assert bw.tolist() == [400.0, 400.0]  # (1000 - 200 VM traffic) / 2 migrations on host 0
    bw = v.migration_bandwidth_mbps(A([0]), A([1]), A([1000.0] * 2), A([990.0, 0.0]), A([1, 1]))
    assert bw[0] == 50.0  # never below min_bandwidth_fraction of the NIC
    t = v.migration_timing(MIGRATION_MODELS["precopy"](), A([0, 6]), A([4096.0, 4096.0]), A([1000.0, 1000.0]),
                           A([200.0, 200.0]), used_mb=A([1000.0, 1000.0]))
    assert t.downtime_s[0] < 0.3 and t.downtime_s[1] == t.total_s[1]  # container: cold, all downtime
    c = v.migration_timing(MIGRATION_MODELS["cloudsim"](), A([0]), A([870.0]), A([1000.0]))
    assert c.total_s[0] == pytest.approx(13.92)


def test_failures_and_restarts():
    v = Virtualization.build(FULL, IDS)
    ev = v.failures(np.random.default_rng(1), 30 * 86400.0, 4)
    assert len(ev) > 0 and np.all(np.diff(ev.fail_s) >= 0)
    down, failover = v.on_host_failure(np.arange(8))
    assert failover.tolist() == [True] * 4 + [False] * 4
    assert down[0] == pytest.approx(1.5 + 0.5)  # detection + activation
    assert down[4] == pytest.approx(1.5 + 20.0) and down[6] == pytest.approx(1.5 + 0.5)  # VM boot / container
    assert v.start_delay_s(A([0, 6, 6]), A([True, True, False])).tolist()[:2] == [20.0, 0.5]


# ------------------------------------------------------------------------------------------ dedup weigher
class _ViewWithImages(ClusterView):
    """What the engine's view will offer once it exposes ``vm_image`` (the wiring step)."""

    __slots__ = ("_img",)

    def __init__(self, state, img):
        super().__init__(state)
        self._img = img

    @property
    def vm_image(self):
        return _ro(self._img)


def test_dedup_weigher_prefers_hosts_with_the_same_image():
    tr = make_trace([[100, 100, 100, 100]], booked_cpu=[500] * 4)
    e = Engine(make_scenario(hosts=((3, 4, 1000.0, 8192.0),)), tr)
    e.step(0)
    w = registry.make("weigher", "dedup")
    hosts = np.arange(3)
    assert np.array_equal(w.score(e.view, 3, hosts), np.zeros(3))  # no images attached: neutral
    e.state.vm_host[:3] = [0, 1, 1]
    got = w.score(_ViewWithImages(e.state, A([5, 7, 7, 7], np.int32)), 3, hosts)
    assert got.tolist() == [0.0, 1024.0, 0.0] and int(np.argmax(got)) == 1


# ------------------------------------------------------------------------------------------ CLI
def _cli(*args):
    from kumo.cli import app

    r = CliRunner().invoke(app, ["model", *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_cli_migration_json_has_units():
    out = json.loads(_cli("migration", "--ram-mib", "1024", "--dirty-rate-mbps", "200", "--bandwidth-mbps", "1000",
                          "--format", "json"))
    rows = {(r["quantity"], r["unit"]): r["value"] for r in out["results"]}
    assert rows[("total time", "s")] == pytest.approx(10.72, abs=0.005)
    assert rows[("downtime", "ms")] == pytest.approx(68.7, abs=0.05)
    assert rows[("memory", "MiB")] == 1024.0


@pytest.mark.parametrize("cmd", [["memory", "--vms", "30"], ["paging", "--workload", "mmu"], ["cpu", "--mode",
                                 "emulation"], ["io", "--mode", "sriov"], ["replication"], ["container"],
                                 ["migration", "--algorithm", "postcopy"], ["migration", "--rule", "xen"]])
def test_cli_commands_print_tables(cmd):
    assert "unit" in _cli(*cmd)


def test_cli_plot(tmp_path):
    _cli("migration", "--plot", str(tmp_path / "m.png"))
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_CON_01_02_containers_at_least_as_fast_as_vms():
    # D: containers equal or better than VMs in almost all cases (Felter et al.); Docker >= KVM everywhere
    cfg = {"cpu": {}, "io": {}, "classes": [{"name": "vm", "share": 0.5, "io_mode": "virtio"},
                                            {"name": "ctr", "share": 0.5, "kind": "container"}]}
    v = Virtualization.build(cfg, ["a", "b"])
    extra = {k: np.full(2, 50_000.0) for k in ("net_rx_kbps", "net_tx_kbps", "disk_read_kbps", "disk_write_kbps")}
    d = v.cpu_demand(A([2000.0, 2000.0]), A([2600.0, 2600.0]), extra=extra)
    assert d.effective_mhz[1] <= d.effective_mhz[0] and d.latency_s[1] <= d.latency_s[0]
    assert d.net_fraction[1] >= d.net_fraction[0] and d.disk_fraction[1] >= d.disk_fraction[0]
    mem = Virtualization.build({"memory": {}, **cfg}, ["a", "b"]).overhead_mb
    assert mem[1] < mem[0]
