"""Host memory under overcommit: page sharing (KSM/TPS), ballooning with an idle tax, compression, swapping.

Vectorized over VMs and hosts (virtualization-models.md sec. 2). Per VM i on host h, with configured RAM
M_i, used (active) RAM U_i from the trace, VMM overhead O_i and the guest's idle memory still resident
(guests rarely hand memory back; ``idle_resident_fraction`` r, default 1)::

    resident_i = U_i + r (M_i - U_i) + O_i                (pinned VMs: M_i + O_i, never reclaimed)
    free_h     = P_h - sum_i resident_i
    minFree_h  = 899 MB + 1 % of P_h above 28 GiB         (ESXi 6+, sizes in MiB)
    state      = high | clear (< minFree) | soft (< 64 %) | hard (< 32 %) | low (< 16 %)

Reclamation ladder (ESXi; each step only if the previous left free memory below the threshold):

1. **sharing** - content-based page sharing per (host, image) group (Waldspurger, OSDI 2002; KSM)::

       saved_h = sum_i (z + s_self) R_i + sum_groups s_x (n_g - 1) mean_g(R_i)
       saved(t) = saved_inf (1 - exp(-t / tau)),  tau = mergeable pages / scan rate (5000 pages/s)

   where R_i is the VM's resident guest memory and t its time on the host (omit for steady state).
2. **ballooning** (soft) - reclaim ``need = minFree - free`` from VMs in proportion to the idle-tax weight
   ``1 / rho_i``, ``rho_i = S_i / (A_i (f_i + k (1 - f_i)))``, ``k = 1 / (1 - tax)``, capped at
   ``balloon_max_fraction`` (65 %) of M_i; what the caps leave is taken in proportion to the remaining
   balloon room (a two-pass stand-in for ESX's lowest-rho-first order that keeps the step loop sort-free). Balloon pages beyond the guest's free memory make the guest
   page its own memory (guest swap).
3. **compression** (hard) - up to ``compression_cache_fraction`` (10 %) of M_i saved per VM at 2:1; every
   VM's compression cache fills to the same fraction.
4. **swap** - whatever still does not fit is swapped by the hypervisor, spread over VMs in proportion to
   their resident memory (it cannot see which guest pages are hot).

Penalties: a swapped page of the active set faults once per ``retouch_s`` (the working set is re-walked at
that period), stalling the vCPU for the device latency::

    stall_i   = (swapped_active_pages x lat_swap + compressed_active_pages x lat_decompress
                 + guest_swapped_pages x p_touch x lat_swap) / retouch_s
    cpu_penalty_i = min(1, stall_i + balloon_tax x B_i / M_i)
    ram_short_i   = swapped_i x U_i / R_i + guest_swapped_i x p_touch     (MB of demanded memory not in RAM)

``balloon_tax`` (0.088 per unit of M ballooned) is calibrated so that ballooning 12.5-50 % of a VM costs
1.1-4.4 % (MEM-01: 1.4-4.4 %, R). Swap latencies per device are typical values (sec. 2.1 table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kumo.models._vec import sum_by as _sum_by
from kumo.models.timing import PAGE_MB

STATES = ("high", "clear", "soft", "hard", "low")
#: free-memory thresholds as fractions of minFree: clear, soft, hard, low (ESXi 6+, D)
STATE_THRESHOLDS = (1.0, 0.64, 0.32, 0.16)
_THRESHOLDS_ASC = np.sort(np.asarray(STATE_THRESHOLDS))
#: seconds per 4 KiB page fault (sec. 2.1, typical orders of magnitude)
SWAP_LATENCY_S = {"hdd": 7.5e-3, "ssd": 1e-4, "nvme": 5e-5, "memory": 2e-5}


def min_free_mb(host_ram_mb: np.ndarray | float) -> np.ndarray:
    """ESXi minFree: 899 MB for the first 28 GB plus 1 % of the rest (GB = 1024 MB, as in the source)."""
    p = np.asarray(host_ram_mb, dtype=np.float64)
    return 899.0 + 0.01 * np.maximum(p - 28 * 1024.0, 0.0)


def memory_state(free_mb: np.ndarray, min_free: np.ndarray) -> np.ndarray:
    """int8 index into :data:`STATES` from free memory and minFree."""
    f = np.asarray(free_mb, np.float64) / np.asarray(min_free, np.float64)
    return (len(STATE_THRESHOLDS) - np.searchsorted(_THRESHOLDS_ASC, f, side="right")).astype(np.int8)


def idle_tax_rho(shares: np.ndarray, alloc_mb: np.ndarray, active_fraction: np.ndarray, tax: float) -> np.ndarray:
    """Waldspurger's shares-per-page ratio; the VM with the lowest rho is reclaimed first."""
    k = 1.0 / (1.0 - tax)
    f = np.clip(active_fraction, 0.0, 1.0)
    return np.asarray(shares, np.float64) / (np.asarray(alloc_mb, np.float64) * (f + k * (1.0 - f)))


def ksm_pages_per_s(pages_to_scan: int = 100, sleep_ms: float = 20.0) -> float:
    """KSM scan rate from ``pages_to_scan`` and ``sleep_millisecs`` (linux ``mm/ksm.c`` defaults: 5000/s)."""
    return pages_to_scan / (sleep_ms / 1000.0)


def sharing_saved_mb(
    resident_mb: np.ndarray,
    host: np.ndarray,
    image: np.ndarray,
    n_hosts: int,
    zero: np.ndarray,
    self_share: np.ndarray,
    cross_share: np.ndarray,
    age_s: np.ndarray | None = None,
    scan_pages_per_s: float = 5000.0,
) -> np.ndarray:
    """(n_hosts,) MB saved by content-based sharing (module docstring, step 1)."""
    saved = sharing_saved_per_vm(resident_mb, host, image, n_hosts, zero, self_share, cross_share, age_s,
                                 scan_pages_per_s)
    return _sum_by(np.asarray(host, np.int64), saved, n_hosts)


def sharing_saved_per_vm(
    resident_mb: np.ndarray,
    host: np.ndarray,
    image: np.ndarray,
    n_hosts: int,
    zero: np.ndarray,
    self_share: np.ndarray,
    cross_share: np.ndarray,
    age_s: np.ndarray | None = None,
    scan_pages_per_s: float = 5000.0,
) -> np.ndarray:
    """(n,) MB of each VM's memory backed by shared frames (the group's cross saving split by size).

    ``resident_mb``, ``host``, ``image`` are (n,) over the participating VMs; ``zero``, ``self_share``,
    ``cross_share`` are (n_images,) fractions per guest image.
    """
    r = np.asarray(resident_mb, np.float64)
    host = np.asarray(host, np.int64)
    image = np.asarray(image, np.int64)
    if r.size == 0:
        return np.zeros(0)
    frac = sharing_fraction(host, image, n_hosts, zero, self_share, cross_share)
    if age_s is None:
        return r * frac
    tau = _sum_by(host, r, n_hosts) / PAGE_MB / scan_pages_per_s
    return r * frac * -np.expm1(-np.asarray(age_s, np.float64) / np.maximum(tau[host], 1e-9))


def sharing_fraction(host: np.ndarray, image: np.ndarray, n_hosts: int, zero: np.ndarray, self_share: np.ndarray,
                     cross_share: np.ndarray) -> np.ndarray:
    """(n,) steady-state share of each VM's memory backed by shared frames.

    A group of n VMs of one image on one host saves s_x (n - 1) x its mean size - every copy after the
    first maps onto shared frames - so each member is credited z + s_self + s_x (1 - 1/n) of its size.
    """
    key = host * len(cross_share) + image
    n_g = np.bincount(key, minlength=n_hosts * len(cross_share))[key]
    return zero[image] + self_share[image] + cross_share[image] * (1.0 - 1.0 / n_g)


def _scale(need_h: np.ndarray, cap: np.ndarray, host: np.ndarray, nh: int) -> np.ndarray:
    """Take ``need`` from each host's VMs in proportion to their capacity ``cap`` (all to the same fraction)."""
    tot = _sum_by(host, cap, nh)
    frac = np.minimum(np.divide(need_h, tot, out=np.zeros(nh), where=tot > 0), 1.0)
    return cap * frac[host]


def _spread(need_h: np.ndarray, weight: np.ndarray, cap: np.ndarray, host: np.ndarray, nh: int) -> np.ndarray:
    """Take each host's ``need`` from its VMs in proportion to ``weight``, capped per VM; what the caps leave
    is then taken in proportion to each VM's remaining room. Two passes, no sort: it fills the need
    whenever the caps allow, and approximates exact weighted water-filling (:func:`waterfill`)."""
    tot = _sum_by(host, weight, nh)
    out = np.minimum(np.divide(need_h, tot, out=np.zeros(nh), where=tot > 0)[host] * weight, cap)
    rest = need_h - _sum_by(host, out, nh)
    if (rest > 1e-9 * np.maximum(need_h, 1.0)).any():
        out = out + _scale(np.maximum(rest, 0.0), cap - out, host, nh)
    return out


@dataclass(frozen=True)
class MemoryResult:
    """Per-host (n_hosts,) and per-VM (n_vms,) outcomes of one step; MB unless noted."""

    host_resident_mb: np.ndarray  # load after sharing, balloon and compression; above capacity = swapped
    host_after_sharing_mb: np.ndarray  # load after sharing only: what the VMs need without taking from guests
    host_swapped_mb: np.ndarray
    host_shared_mb: np.ndarray
    host_balloon_mb: np.ndarray
    host_compressed_mb: np.ndarray  # MB saved by compression
    host_state: np.ndarray  # int8 index into STATES, before any reclamation
    vm_balloon_mb: np.ndarray
    vm_swapped_mb: np.ndarray  # hypervisor swap + guest swap forced by the balloon
    vm_ram_short_mb: np.ndarray  # demanded (active) memory not in RAM
    vm_cpu_penalty: np.ndarray  # fraction of the VM's CPU lost to faults and the balloon tax


@dataclass(frozen=True)
class MemoryModel:
    """ESX-style reclamation ladder with KSM-style sharing (Waldspurger, OSDI 2002; module docstring)."""

    sharing: str = "always"  # always | ladder (only below minFree) | off
    scan_pages_per_s: float = 5000.0
    idle_resident_fraction: float = 1.0
    balloon: bool = True
    balloon_max_fraction: float = 0.65
    idle_tax: float = 0.75
    balloon_tax: float = 0.088
    compression: bool = True
    compression_cache_fraction: float = 0.10
    swap_device: str = "ssd"
    retouch_s: float = 60.0
    guest_touch_fraction: float = 0.3

    def validate(self) -> list[str]:
        out = []
        if self.sharing not in ("always", "ladder", "off"):
            out.append(f"sharing: must be one of always, ladder, off, got {self.sharing!r}")
        if self.swap_device not in SWAP_LATENCY_S:
            out.append(f"swap_device: unknown device {self.swap_device!r}; valid: {', '.join(SWAP_LATENCY_S)}")
        for name in ("idle_resident_fraction", "balloon_max_fraction", "compression_cache_fraction",
                     "guest_touch_fraction", "balloon_tax"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                out.append(f"{name}: must be in [0, 1], got {v}")
        if not 0 <= self.idle_tax < 1:
            out.append(f"idle_tax: must be in [0, 1), got {self.idle_tax}")
        for name in ("scan_pages_per_s", "retouch_s"):
            if not getattr(self, name) > 0:
                out.append(f"{name}: must be > 0, got {getattr(self, name)}")
        return out

    def evaluate(
        self,
        used_mb: np.ndarray,
        booked_mb: np.ndarray,
        host: np.ndarray,
        host_ram_mb: np.ndarray,
        image: np.ndarray,
        zero: np.ndarray,
        self_share: np.ndarray,
        cross_share: np.ndarray,
        overhead_mb: np.ndarray | float = 0.0,
        pinned: np.ndarray | None = None,
        shares: np.ndarray | None = None,
        age_s: np.ndarray | None = None,
    ) -> MemoryResult:
        """One step of host memory accounting.

        Parameters
        ----------
        used_mb, booked_mb : (n_vms,) active and configured RAM, MB.
        host : (n_vms,) int host index, -1 for VMs not placed (they count nowhere).
        host_ram_mb : (n_hosts,) physical RAM.
        image : (n_vms,) int guest image index (-1: shares nothing); ``zero``, ``self_share``,
            ``cross_share`` : (n_images,) sharing fractions per image.
        overhead_mb : (n_vms,) or scalar VMM/kernel overhead per instance.
        pinned : (n_vms,) bool, memory that cannot be shared, ballooned or swapped (device passthrough).
        shares : (n_vms,) memory shares (default 10 per MB of booked RAM, ESX "normal").
        age_s : (n_vms,) seconds on the current host, for the KSM fill-up; None = steady state.
        """
        nh = len(host_ram_mb)
        host = np.asarray(host, np.int64)
        n = host.shape[0]
        cap = np.asarray(host_ram_mb, np.float64)
        minf = min_free_mb(cap)
        placed = host >= 0
        every = bool(placed.all())
        ix = slice(None) if every else np.flatnonzero(placed)  # only placed VMs count
        hs = host[ix]
        m = hs.shape[0]
        booked = np.asarray(booked_mb, np.float64)[ix]
        used = np.minimum(np.asarray(used_mb, np.float64)[ix], booked)
        ovh = np.asarray(overhead_mb, np.float64)
        ovh = ovh if ovh.ndim == 0 or ovh.shape == (n,) else np.broadcast_to(ovh, (n,))
        fixed = _sum_by(hs, ovh[ix], nh) if ovh.ndim else ovh * np.bincount(hs, minlength=nh)
        pin = np.zeros(m, bool) if pinned is None else np.asarray(pinned, bool)[ix]
        any_pin = bool(pin.any())
        guest = used + self.idle_resident_fraction * (booked - used)
        if any_pin:
            guest = np.where(pin, booked, guest)
        free = cap - fixed - _sum_by(hs, guest, nh)
        state = memory_state(free, minf)
        # 1. sharing: sf = share of each VM's guest memory backed by shared frames
        sf = np.zeros(m)
        img = np.asarray(image, np.int64)[ix]
        part = ~pin & (img >= 0)
        if self.sharing != "off" and part.any():
            every_part = bool(part.all())
            sel = slice(None) if every_part else part
            if age_s is None:
                frac = sharing_fraction(hs[sel], img[sel], nh, np.asarray(zero, np.float64),
                                        np.asarray(self_share, np.float64), np.asarray(cross_share, np.float64))
            else:
                frac = sharing_saved_per_vm(guest[sel], hs[sel], img[sel], nh, zero, self_share, cross_share,
                                            np.asarray(age_s)[ix][sel], self.scan_pages_per_s) / np.maximum(
                                                guest[sel], 1e-12)
            if self.sharing == "ladder":
                frac = frac * (free < minf)[hs[sel]]
            if every_part:
                sf = np.minimum(frac, 1.0)
            else:
                sf[part] = np.minimum(frac, 1.0)
        unshared = 1.0 - sf
        free = cap - fixed - _sum_by(hs, guest * unshared, nh)
        after_sharing = cap - free
        # 2. ballooning, idle memory taxed; a ballooned guest page frees only its unshared part
        bal = np.zeros(m)
        if self.balloon:
            need = np.where(free < STATE_THRESHOLDS[1] * minf, minf - free, 0.0)
            if (need > 1e-6).any():
                # 1 / rho with A f = used: (k A - (k - 1) used) / S, k = 1 / (1 - tax)
                k = 1.0 / (1.0 - self.idle_tax)
                shr = 10.0 * booked if shares is None else np.asarray(shares, np.float64)[ix]
                weight = (k * guest - (k - 1.0) * used) / np.maximum(shr, 1e-12)
                bcap = np.minimum(self.balloon_max_fraction * booked, guest) * unshared
                if any_pin:
                    weight, bcap = np.where(pin, 0.0, weight), np.where(pin, 0.0, bcap)
                got = _spread(need, weight, bcap, hs, nh)
                bal = got / np.maximum(unshared, 1e-12)
        guest_swap = np.maximum(bal - self.idle_resident_fraction * (booked - used), 0.0)
        in_guest = np.maximum(guest - bal, 0.0)
        foot = in_guest * unshared
        free = cap - fixed - _sum_by(hs, foot, nh)
        # 3. compression at 2:1: storing c MB of compressed pages frees c MB
        comp = np.zeros(m)
        if self.compression:
            need = np.where(free < STATE_THRESHOLDS[2] * minf - 1e-6, minf - free, 0.0)
            if (need > 1e-6).any():
                ccap = np.minimum(self.compression_cache_fraction * booked, foot / 2)
                comp = _scale(need, np.where(pin, 0.0, ccap) if any_pin else ccap, hs, nh)
        host_comp = _sum_by(hs, comp, nh)
        free = free + host_comp
        # 4. hypervisor swap: only what physically does not fit
        over = np.maximum(-free, 0.0)
        swapped = np.zeros(m)
        if (over > 1e-9).any():
            left = np.maximum(foot - 2 * comp, 0.0)
            w = np.where(pin, 0.0, left) if any_pin else left
            if any_pin:  # a host holding only pinned VMs: they take the loss
                w = np.where((_sum_by(hs, w, nh) > 0)[hs], w, guest)
                left = np.where(pin, guest, left)
            swapped = _scale(over, w, hs, nh) if not any_pin else _spread(over, w, left, hs, nh)
        act_frac = np.minimum(np.maximum((used - guest_swap) / np.maximum(in_guest, 1e-12), 0.0), 1.0)
        lat = SWAP_LATENCY_S[self.swap_device]
        stall = (swapped * act_frac * lat + 2 * comp * act_frac * SWAP_LATENCY_S["memory"]
                 + guest_swap * self.guest_touch_fraction * lat) / (PAGE_MB * self.retouch_s)
        tax = self.balloon_tax * bal / np.maximum(booked, 1e-12)

        def put(x: np.ndarray) -> np.ndarray:
            if every:
                return x
            out = np.zeros(n)
            out[ix] = x
            return out

        return MemoryResult(
            host_resident_mb=cap - free, host_after_sharing_mb=after_sharing, host_swapped_mb=over,
            host_shared_mb=_sum_by(hs, in_guest * sf, nh), host_balloon_mb=_sum_by(hs, bal, nh),
            host_compressed_mb=host_comp, host_state=state, vm_balloon_mb=put(bal),
            vm_swapped_mb=put(swapped + guest_swap),
            vm_ram_short_mb=put(np.minimum(swapped * act_frac + guest_swap * self.guest_touch_fraction, used)),
            vm_cpu_penalty=put(np.minimum(stall + tax, 1.0)),
        )
