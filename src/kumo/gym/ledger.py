"""The ledger of :mod:`kumo.accounting`, kept while the engine runs: what the run has earned, paid and
broken after each accounted step, so that dense rewards add up to the episode's ledger.

:func:`kumo.accounting.account` reads a finished run. :class:`RunningLedger` applies the same rules to the
steps accounted so far, vectorized over VMs and over the steps since its last update, reading the engine's
books (the per-step VM matrices of ``record_vm_steps``). It reads the per-VM rows of the steps the books
still keep in a batch only when a line needs them (breaks counted per interval or episode, a closing
window, the run's end); meanwhile it reads the energy, time on and billed steps ahead
(:meth:`kumo.books.Books.totals_with_kept`, the same bits), so dense rewards do not break the batches. Its totals after the last step equal the
ledger's (every line is the same product; only the order of the final sum differs), so the differences
of its totals between two updates — the dense rewards — add up to the episode's ledger. Each line is
booked when the run has decided it:

============================  ==========================================================================
line                          booked
============================  ==========================================================================
revenue                       per step billed: price per hour x billed steps so far x step / 3600
energy, hardware              per step, from the hosts' running energy and time on (or the park's hours)
CPU and RAM breaks            ``counting = "interval"``: at the step; ``"episode"``: at the episode's
                              first step; ``"window"``: when the window closes (the last at the run's end)
uptime breaks                 when the uptime window closes (the last at the run's end)
revenue-fraction penalties    value x breaks so far x the VM's revenue so far: the amount grows with the
                              revenue the VM earns after its break, as the final ledger prices it
``check = "end"``             settled at the run's end (:meth:`RunningLedger.settle`): a migration aborted
                              later changes the end-of-step loads of the steps it was in flight
============================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from kumo.accounting import LedgerSpec, account, parse_ledger_spec, price_per_hour, sla_classes
from kumo.state import VM_REJECTED

__all__ = ["LedgerTotals", "RunningLedger"]

_RES = ("cpu", "ram", "uptime")


@dataclass
class LedgerTotals:
    """Running totals of a run (or, as a difference of two, what changed between two updates).

    Money in the ledger's currency, signed as costs (``penalties_*``, ``energy_cost``, ``hardware_cost``
    are >= 0 amounts paid); ``profit = revenue - penalties - costs``. ``carbon_kg`` is the CO2 of the
    facility energy for a scenario with ``[carbon]`` (or from a carbon hook, :class:`RunningLedger`), else 0;
    ``carbon_cost`` its price (the ledger's ``carbon_price_per_t``, else the scenario's ``price_per_t``).
    """

    revenue: float = 0.0
    penalties_cpu: float = 0.0
    penalties_ram: float = 0.0
    penalties_uptime: float = 0.0
    energy_cost: float = 0.0
    hardware_cost: float = 0.0
    carbon_cost: float = 0.0
    energy_kwh: float = 0.0
    carbon_kg: float = 0.0
    sla_breaks_cpu: int = 0
    sla_breaks_ram: int = 0
    sla_breaks_uptime: int = 0
    migrations: int = 0
    migrations_refused: int = 0
    rejections: int = 0

    @property
    def penalties(self) -> float:
        return self.penalties_cpu + self.penalties_ram + self.penalties_uptime

    @property
    def costs(self) -> float:
        return self.energy_cost + self.hardware_cost + self.carbon_cost

    @property
    def profit(self) -> float:
        return self.revenue - self.penalties - self.costs

    @property
    def sla_breaks(self) -> int:
        return self.sla_breaks_cpu + self.sla_breaks_ram + self.sla_breaks_uptime

    def __sub__(self, other: LedgerTotals) -> LedgerTotals:
        a, b = self.__dict__, other.__dict__
        return LedgerTotals(**{k: a[k] - b[k] for k in _FIELDS})

    def __add__(self, other: LedgerTotals) -> LedgerTotals:
        a, b = self.__dict__, other.__dict__
        return LedgerTotals(**{k: a[k] + b[k] for k in _FIELDS})

    def copy(self) -> LedgerTotals:
        return LedgerTotals(**self.__dict__)

    def as_dict(self) -> dict[str, float]:
        """Every field and the derived ``penalties``, ``costs``, ``profit``, ``sla_breaks``."""
        return {**asdict(self), "penalties": self.penalties, "costs": self.costs, "profit": self.profit,
                "sla_breaks": self.sla_breaks}


_FIELDS = tuple(f.name for f in fields(LedgerTotals))


class _Facts:
    """The VM table's columns the ledger's price and class rules read, without a finished run."""

    def __init__(self, engine: Any):
        v = engine.state.vms
        self.tables = {"vms": pd.DataFrame({
            "vm_id": pd.Series(v.ids.astype(str), dtype="string"),
            "cores": v.cores.astype(np.int64),
            "ram_booked_mb": v.ram_booked_mb.astype(np.float64)})}


class RunningLedger:
    """The ledger of one engine run, kept step by step (see the module docstring).

    Call :meth:`update` after every step the engine accounts (or after several at once), and :meth:`settle`
    once after the last; :attr:`totals` holds the running totals.

    Parameters
    ----------
    engine : a :class:`kumo.engine.Engine` built with ``record_vm_steps = true``, before its first step.
    spec : the ledger's rules, prices and costs (:class:`kumo.accounting.LedgerSpec` or its dict).
    carbon : optional hook ``carbon(kwh, first_step, end_step) -> kg``: the emissions of ``kwh`` (n_hosts,)
        IT energy used in steps [first_step, end_step), in place of the scenario's ``[carbon]`` (without
        either, ``carbon_kg`` stays 0). Either is priced at the carbon price per tonne.
    vm_rules : ``(price_per_hour, sla_class)`` of the engine's VMs under ``spec``, as :meth:`vm_rules`
        returns them (an environment keeps them per trace window); None: computed here.
    """

    @staticmethod
    def vm_rules(engine: Any, spec: LedgerSpec) -> tuple[np.ndarray, np.ndarray]:
        """(n_vms,) price per hour and (n_vms,) SLA class index (-1: the ledger's own SLA) of the engine's
        VMs, by the ledger's rules (:func:`kumo.accounting.price_per_hour`, :func:`~kumo.accounting.sla_classes`)."""
        facts = _Facts(engine)
        pph = price_per_hour(facts, spec.prices)  # type: ignore[arg-type]
        klass = sla_classes(facts, spec) if spec.classes else np.full(engine.state.vms.n, -1)  # type: ignore[arg-type]
        return pph, klass

    def __init__(self, engine: Any, spec: LedgerSpec | dict[str, Any] | None = None, carbon: Any = None,
                 vm_rules: tuple[np.ndarray, np.ndarray] | None = None):
        if engine.books.vm_steps is None:
            raise ValueError("RunningLedger needs the per-step VM matrices: build the engine with "
                             "record_vm_steps = true")
        self.engine = engine
        self.spec = spec = parse_ledger_spec(spec) if not isinstance(spec, LedgerSpec) else spec
        self.carbon = carbon
        s = engine.state
        sc = engine.scenario
        self.dt = engine.dt
        self.n_steps = n = engine.trace.n_steps
        nv = s.vms.n
        self.pph, klass = vm_rules if vm_rules is not None else self.vm_rules(engine, spec)
        self.klass = klass  #: (n_vms,) each VM's SLA class in ``spec.classes``, -1 for the ledger's own
        slas = [spec.sla] + [c.sla(spec.sla) for c in spec.classes]
        pens = [spec.penalties] + [c.penalty_spec(spec.penalties) for c in spec.classes]
        of = klass + 1
        base = spec.sla
        self.exact = base.check == "mean"
        # per-VM tolerances and allowances, as the ledger computes them per class
        self._cpu_tol32 = np.array([np.float32(max(x.cpu_tolerance, 1e-6)) for x in slas], np.float32)[of]
        self._ram_tol32 = np.array([np.float32(x.ram_tolerance) for x in slas], np.float32)[of]
        self._cpu_tol = np.array([max(x.cpu_tolerance, 1e-6) for x in slas])[of]
        self._ram_tol = np.array([x.ram_tolerance for x in slas])[of]
        up_window_s = base.uptime_window_h * 3600.0
        self._allowance = np.array([(1.0 - x.uptime_target) * up_window_s for x in slas])[of]
        # penalty values per VM and resource, by kind
        self._fixed = {}
        self._frac = {}
        self._excess = {}
        self._has_frac: dict[str, bool] = {}
        for r in _RES:
            kinds = [getattr(p, r) for p in pens]
            self._fixed[r] = np.array([p.value if p.kind == "fixed" else 0.0 for p in kinds])[of]
            self._frac[r] = np.array([p.value if p.kind == "revenue-fraction" else 0.0 for p in kinds])[of]
            self._excess[r] = np.array([p.value if p.kind == "excess-downtime" else 0.0 for p in kinds])[of]
            self._has_frac[r] = bool(self._frac[r].any())
            if r != "uptime" and self._excess[r].any():
                raise ValueError(f"penalties.{r}.kind: 'excess-downtime' applies to uptime only")
        # energy and hardware prices: the ledger's, else the scenario's
        c = spec.costs
        self.price_kwh = c.energy_price_per_kwh if c.energy_price_per_kwh is not None else sc.energy.price_per_kwh
        self.pue = c.pue if c.pue is not None else sc.energy.pue
        # carbon: the books' CO2 of the scenario's [carbon] (IT energy x intensity), at the ledger's PUE
        self._co2_books = carbon is None and getattr(engine, "carbon", None) is not None
        scenario_price = sc.carbon.price_per_t if sc.carbon is not None else 0.0
        self.price_t = c.carbon_price_per_t if c.carbon_price_per_t is not None else scenario_price
        # windows: SLA windows (counting = "window") and uptime windows, as accounting_sla numbers them
        self._sla_win = self._window_of_steps(base.window_h) if base.counting == "window" else None
        self._up_win = self._window_of_steps(base.uptime_window_h)
        self._up_window_s = up_window_s
        self._n_up = int(self._up_win[-1]) + 1 if n else 1
        # the overload threshold of downtime_moves = "overload", as the ledger reads it from the manifest
        th = base.overload_threshold
        if th is None:
            params = sc.controller.params if sc.controller.name != "none" else {}
            self._over_th = (float(params.get("upper_cpu", 1.0)), float(params.get("upper_ram", 1.0)))
        else:
            self._over_th = (th, th)
        # running state
        self.steps = 0  # steps accounted so far
        self._prev = {"cpu": np.zeros(nv, bool), "ram": np.zeros(nv, bool)}  # last step's violations
        self._count = {r: np.zeros(nv, np.int64) for r in _RES}  # breaks so far per VM (revenue fractions)
        self._fixed_money = dict.fromkeys(_RES, 0.0)
        self._excess_money = 0.0
        self._n_breaks = dict.fromkeys(_RES, 0)
        self._sla_acc: dict[str, np.ndarray] = {}
        self._sla_open = 0  # the SLA window being summed
        self._up_acc = np.zeros(nv)
        self._up_open = 0  # the uptime window being summed
        self._pending_down: list[tuple[int, np.ndarray]] = []  # (window, downtime per VM) of later windows
        self._mig_done = 0  # migrations whose downtime is booked
        self._rows_done = 0  # steps whose per-VM rows are booked
        self._refusals_seen = 0
        self._rejections_seen = 0
        self._refused = 0
        self._carbon = 0.0
        self._kwh_prev = np.zeros(s.hosts.n)
        self._settled = False
        self.totals = LedgerTotals()
        self._reset_sla_acc()

    # ---------------------------------------------------------------------------------------------- set-up
    def _window_of_steps(self, window_h: float) -> np.ndarray:
        """(n_steps,) window index of every step, as :func:`kumo.accounting_sla.window_sums` groups them."""
        n, dt = self.n_steps, self.dt
        window_s = window_h * 3600.0
        n_windows = max(1, int(np.ceil(n * dt / window_s)))
        return np.minimum((np.arange(n) * dt // window_s).astype(np.int64), n_windows - 1)

    def _reset_sla_acc(self) -> None:
        nv = self.engine.state.vms.n
        self._sla_acc = {"cpu_s": np.zeros(nv), "cpu_d": np.zeros(nv), "ram_s": np.zeros(nv),
                         "ram_d": np.zeros(nv), "placed": np.zeros(nv, bool)}

    # ---------------------------------------------------------------------------------------------- updates
    def update(self, steps: int) -> LedgerTotals:
        """Book the steps accounted since the last update: ``steps`` is how many the engine has accounted
        (steps 0 .. steps - 1). Returns the change of :attr:`totals`."""
        b = int(steps)
        a = self.steps
        eng = self.engine
        if b == a and len(eng.log.refusals["kind"]) == self._refusals_seen \
                and len(eng.log.rejections["vm"]) == self._rejections_seen:
            return LedgerTotals()  # nothing accounted, refused or rejected since the last update
        before = self.totals.copy()
        totals = None
        if b > a:
            # the per-VM rows of steps the books still keep are read when a line needs them: at every step
            # for breaks counted per interval or episode, else when a window closes (and at the run's end);
            # meanwhile the totals are read ahead (the same bits), so the books keep batching plain steps
            books = eng.books
            kept = 0 if self._rows_needed(b) else books.kept()
            if kept:
                totals = books.totals_with_kept()
                if totals is None:
                    kept = 0
            if not kept:
                books.flush()
            vs = books.vm_steps
            done = b - kept  # steps whose rows are posted
            a0 = self._rows_done
            if done > a0:
                rows = {k: v[a0:done] for k, v in vs.items()}
                self._breaks_rows(a0, done, rows)
                self._migrations(done, vs)
                self._uptime_rows(a0, done, rows)
                self._rows_done = done
            if self.carbon is not None:
                self._carbon += float(self.carbon(self._host_kwh_since(a), a, b))
            self.steps = b
            if b >= self.n_steps:
                self._close_all()
        self._refresh(totals)
        return self.totals - before

    def _rows_needed(self, b: int) -> bool:
        """Whether booking the steps up to ``b`` needs their per-VM rows now."""
        if b >= self.n_steps or self.carbon is not None or self._co2_books:
            return True
        if self.exact:
            if self._sla_win is None:
                return True  # breaks counted per interval or per episode: at their step
            if self._sla_win[b] > self._sla_open:
                return True  # an SLA window closes
        return bool(self._up_win[b] > self._up_open)  # an uptime window closes

    def settle(self, result: Any = None) -> LedgerTotals:
        """After the run's last step: make :attr:`totals` the finished run's ledger exactly
        (:func:`kumo.accounting.account` on ``result``, built from the engine when not given, and only
        when the running evaluation is not exact or ``result`` is given). Returns the change."""
        before = self.totals.copy()
        if self.steps < self.n_steps:
            self.update(self.n_steps)
        if result is None and self.exact:
            self._settled = True
            return self.totals - before
        if result is None:
            from kumo.results import build_result

            self.engine.close()
            result = build_result(self.engine)
        acc = account(result, self.spec).summary
        t = self.totals
        for k in ("revenue", "penalties_cpu", "penalties_ram", "penalties_uptime", "energy_cost", "hardware_cost",
                  "energy_kwh", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "migrations"):
            setattr(t, k, acc[k])
        if self.carbon is None:
            t.carbon_kg, t.carbon_cost = acc["co2_kg"], acc["carbon_cost"]
        self._settled = True
        return self.totals - before

    # ---------------------------------------------------------------------------------------------- breaks
    def _breaks_rows(self, a: int, b: int, rows: dict[str, np.ndarray]) -> None:
        if not self.exact:
            return  # check = "end": settled at the end
        cd, cg = rows["cpu_demand_mhz"], rows["cpu_delivered_mhz"]
        rd, rs = rows["ram_demand_mb"], rows["ram_shortfall_mb"]
        placed = rows["host"] >= 0
        cpu_short = cd - cg
        counting = self.spec.sla.counting
        if counting == "window":
            self._window_rows(a, b, cpu_short, cd, rs, rd, placed)
            return
        for r, viol in (("cpu", placed & (cpu_short > cd * self._cpu_tol32)),
                        ("ram", placed & (rs > rd * self._ram_tol32 + np.float32(1e-6)))):
            if counting == "episode":
                prev = np.vstack([self._prev[r][None], viol[:-1]])
                self._prev[r] = viol[-1].copy()
                viol = viol & ~prev
            self._book(r, np.count_nonzero(viol, axis=0))

    def _book(self, r: str, per_vm: np.ndarray) -> None:
        n = int(per_vm.sum())
        if n:
            self._n_breaks[r] += n
            self._count[r] += per_vm
            self._fixed_money[r] += float((self._fixed[r] * per_vm).sum())

    def _window_rows(self, a: int, b: int, cpu_short: np.ndarray, cd: np.ndarray, rs: np.ndarray, rd: np.ndarray,
                     placed: np.ndarray) -> None:
        win = self._sla_win
        assert win is not None
        i = 0
        while i < b - a:
            acc = self._sla_acc  # a window closed below starts a fresh one
            w = int(win[a + i])
            j = i + 1 if b - a == 1 else i + int(np.searchsorted(win[a + i:b], w, side="right"))  # rows of window w
            for key, x in (("cpu_s", cpu_short), ("cpu_d", cd), ("ram_s", rs), ("ram_d", rd)):
                # sequential row sums from the running total: the same order as the ledger's window sums
                acc[key] = (acc[key] + x[i] if j == i + 1  # float32 rows cast to float64, then added
                            else np.vstack([acc[key][None], x[i:j].astype(np.float64)]).sum(axis=0))
            acc["placed"] |= placed[i] if j == i + 1 else placed[i:j].any(axis=0)
            if a + j < len(win):
                while self._sla_open < int(win[a + j]):
                    self._close_sla_window()
            i = j

    def _close_sla_window(self) -> None:
        acc = self._sla_acc
        for r, tol, floor in (("cpu", self._cpu_tol, 0.0), ("ram", self._ram_tol, 1e-6)):
            s, d = acc[f"{r}_s"], acc[f"{r}_d"]
            self._book(r, (acc["placed"] & (s > d * tol + floor)).astype(np.int64))
        self._reset_sla_acc()
        self._sla_open += 1

    # ---------------------------------------------------------------------------------------------- uptime
    def _migrations(self, b: int, vs: dict[str, np.ndarray]) -> None:
        """Book the downtime of the migrations that started in a recorded step (not for ``downtime =
        "engine"``, which reads the per-step matrix)."""
        sla = self.spec.sla
        mig = self.engine.log.migrations
        m1 = len(mig["vm"])
        if sla.downtime == "engine" or m1 == self._mig_done:
            return
        dt, n = self.dt, self.n_steps
        if sla.downtime_moves != "overload" and m1 - self._mig_done <= 16:
            self._few_migrations(b, m1, vs)
            return
        start = np.asarray(mig["start_s"][self._mig_done:m1], np.float64)
        k = np.minimum((start / dt).astype(np.int64), n - 1)
        m = int(np.searchsorted(k, b))  # migrations start in time order
        if m == 0:
            return
        start, k = start[:m], k[:m]
        sl = slice(self._mig_done, self._mig_done + m)
        vm = np.asarray(mig["vm"][sl], np.int64)
        self._mig_done += m
        rate = sla.migration_mbps * sla.migration_bandwidth_share / 8.0
        if sla.migrated_ram == "booked":
            ram = self.engine.state.vms.ram_booked_mb.astype(np.float64)[vm]
        else:
            ram = vs["ram_demand_mb"][k, vm].astype(np.float64)
        if sla.downtime == "fixed":
            d = np.full(len(vm), sla.fixed_downtime_s)
        else:
            t_mig = ram / rate
            d = t_mig if sla.downtime == "cold" else sla.live_downtime_fraction * t_mig
        if sla.downtime_moves == "overload":
            calm = sla.live_downtime_fraction * ram / rate
            d = np.where(self._source_overloaded(vs, k, np.asarray(mig["src"][sl], np.int64)), d, calm)
        win = np.minimum((start // self._up_window_s).astype(np.int64), self._n_up - 1)
        for w, v, x in zip(win.tolist(), vm.tolist(), d.tolist(), strict=True):
            self._add_downtime(w, v, x)

    def _few_migrations(self, b: int, m1: int, vs: dict[str, np.ndarray]) -> None:
        """:meth:`_migrations` one by one (faster for a few; the same arithmetic), without ``downtime_moves =
        "overload"``."""
        sla = self.spec.sla
        mig = self.engine.log.migrations
        dt, n = self.dt, self.n_steps
        rate = sla.migration_mbps * sla.migration_bandwidth_share / 8.0
        booked = self.engine.state.vms.ram_booked_mb
        for i in range(self._mig_done, m1):
            start = float(mig["start_s"][i])
            k = min(int(start / dt), n - 1)
            if k >= b:
                break  # migrations start in time order
            vm = int(mig["vm"][i])
            if sla.downtime == "fixed":
                d = float(sla.fixed_downtime_s)
            else:
                ram = float(booked[vm] if sla.migrated_ram == "booked" else vs["ram_demand_mb"][k, vm])
                t_mig = ram / rate
                d = t_mig if sla.downtime == "cold" else sla.live_downtime_fraction * t_mig
            self._add_downtime(min(int(start // self._up_window_s), self._n_up - 1), vm, d)
            self._mig_done = i + 1

    def _source_overloaded(self, vs: dict[str, np.ndarray], k: np.ndarray, src: np.ndarray) -> np.ndarray:
        h = self.engine.state.hosts
        on_src = vs["host"][k] == src[:, None]
        used_c = np.where(on_src, vs["cpu_demand_mhz"][k], 0).sum(axis=1, dtype=np.float64)
        used_r = np.where(on_src, vs["ram_demand_mb"][k], 0).sum(axis=1, dtype=np.float64)
        th_c, th_r = self._over_th
        return (used_c > th_c * h.cpu_mhz[src]) | (used_r > th_r * h.ram_mb[src])

    def _add_downtime(self, w: int, vm: int, d: float) -> None:
        if w == self._up_open:
            self._up_acc[vm] += d
        else:  # a later window (a migration started at the end of a window's last step)
            self._pending_down.append((w, np.bincount([vm], [d], self._up_acc.size)))

    def _uptime_rows(self, a: int, b: int, rows: dict[str, np.ndarray]) -> None:
        win = self._up_win
        engine_down = self.spec.sla.downtime == "engine"
        i = 0
        while i < b - a:
            w = int(win[a + i])
            j = i + 1 if b - a == 1 else i + int(np.searchsorted(win[a + i:b], w, side="right"))
            if engine_down:
                self._up_acc = np.vstack([self._up_acc[None], rows["downtime_s"][i:j].astype(np.float64)]).sum(axis=0)
            if a + j < len(win):
                while self._up_open < int(win[a + j]):
                    self._close_uptime_window()
            i = j

    def _close_uptime_window(self) -> None:
        per = self._up_acc
        allowance = self._allowance
        hit = per > allowance * (1 + 1e-12) + 1e-9
        self._book("uptime", hit.astype(np.int64))
        if hit.any():
            self._excess_money += float((self._excess["uptime"][hit] * np.maximum(per[hit] - allowance[hit], 0.0)).sum())
        self._up_open += 1
        self._up_acc = np.zeros_like(per)
        keep = []
        for w, d in self._pending_down:
            if w == self._up_open:
                self._up_acc += d
            else:
                keep.append((w, d))
        self._pending_down = keep

    def _close_all(self) -> None:
        """The run's last step is accounted: the open windows close."""
        if self.exact and self._sla_win is not None:
            while self._sla_open <= int(self._sla_win[-1]):
                self._close_sla_window()
        while self._up_open < self._n_up:
            self._close_uptime_window()

    # ---------------------------------------------------------------------------------------------- totals
    def _host_kwh_since(self, a: int) -> np.ndarray:
        # the hosts' energy of the new steps: their running total now minus what was booked before
        kwh = self.engine.host_acc["energy_j"] / 3.6e6
        prev, self._kwh_prev = self._kwh_prev, kwh
        return kwh - prev

    def _frac_money(self, r: str, rev: np.ndarray) -> float:
        """The revenue-fraction penalties of resource ``r`` so far (0 without such penalties)."""
        frac = self._frac[r]
        if not self._has_frac[r]:
            return 0.0
        return float((frac * self._count[r] * rev).sum())

    def _refresh(self, totals: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        """The totals from the books (``totals``: their energy, time on and VM steps run, read ahead)."""
        if self._settled:
            return
        eng, t = self.engine, self.totals
        b, dt = self.steps, self.dt
        va, ha = eng.books.vm_acc, eng.books.host_acc
        energy_j, on_s, steps_run = totals if totals is not None else (ha["energy_j"], ha["on_s"], va["steps_run"])
        prices = self.spec.prices
        if prices.billing == "placed":
            billed = steps_run
        else:
            v = eng.state.vms
            life = np.clip(v.depart_step - v.arrive_step, 0, None).astype(np.float64)
            billed = np.minimum(np.clip(b - v.arrive_step, 0, None), life).astype(np.float64)
        rev = self.pph * (billed * dt / 3600.0)
        t.revenue = float(rev.sum())
        t.penalties_cpu = self._fixed_money["cpu"] + self._frac_money("cpu", rev)
        t.penalties_ram = self._fixed_money["ram"] + self._frac_money("ram", rev)
        t.penalties_uptime = self._fixed_money["uptime"] + self._excess_money + self._frac_money("uptime", rev)
        kwh = energy_j / 3.6e6
        t.energy_kwh = float(kwh.sum())
        t.energy_cost = float((kwh * self.pue * self.price_kwh).sum())
        c = self.spec.costs
        if c.hardware_basis == "park":
            hours = np.full(eng.state.hosts.n, b * dt / 3600.0)
        else:
            hours = on_s / 3600.0
        t.hardware_cost = float((hours * c.hardware_per_host_hour).sum())
        t.sla_breaks_cpu = self._n_breaks["cpu"]
        t.sla_breaks_ram = self._n_breaks["ram"]
        t.sla_breaks_uptime = self._n_breaks["uptime"]
        t.carbon_kg = float(eng.books.host_acc["co2_g"].sum()) * self.pue / 1000 if self._co2_books else self._carbon
        t.carbon_cost = t.carbon_kg / 1000 * self.price_t
        log = eng.log
        t.migrations = len(log.migrations["vm"])
        kinds = log.refusals["kind"]
        self._refused += sum(1 for x in kinds[self._refusals_seen:] if x == "migration")
        self._refusals_seen = len(kinds)
        t.migrations_refused = self._refused
        if len(log.rejections["vm"]) != self._rejections_seen:
            # a VM is rejected with a record of it (the count changes with the records only)
            t.rejections = int(np.count_nonzero(eng.state.vm_state == VM_REJECTED))
            self._rejections_seen = len(log.rejections["vm"])
