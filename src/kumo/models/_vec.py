"""Small vectorized helpers shared by the models: grouped sums and weighted water-filling."""

from __future__ import annotations

import numpy as np


def sum_by(idx: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Float sums of ``w`` per index (``np.bincount`` returns ints when ``w`` is empty)."""
    return np.bincount(idx, w, n).astype(np.float64, copy=False)


def waterfill(cap: np.ndarray, weight: np.ndarray, group: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Weighted max-min fair split of ``total[g]`` over the items of each group, item i capped at ``cap[i]``.

    Returns (n,) ``x_i = min(cap_i, lambda_g w_i)`` with ``sum_g x_i = min(total_g, sum_g cap_i)``; items with
    ``group < 0`` or zero weight get 0. Exact, by sorting items on ``cap / weight`` within each group.
    """
    c = np.maximum(np.asarray(cap, np.float64), 0.0)
    w = np.asarray(weight, np.float64)
    g = np.asarray(group, np.int64)
    tot = np.asarray(total, np.float64)
    out = np.zeros_like(c)
    ok = (g >= 0) & (w > 0)
    idx = np.flatnonzero(ok & (tot[np.where(ok, g, 0)] > 0))
    if idx.size == 0:
        return out
    gg, cc, ww = g[idx], c[idx], w[idx]
    order = np.lexsort((cc / ww, gg))
    gg, cc, ww, idx = gg[order], cc[order], ww[order], idx[order]
    first = np.ones(len(gg), bool)
    first[1:] = gg[1:] != gg[:-1]
    grp = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ccum = np.cumsum(cc)
    before = ccum - cc - (ccum[starts] - cc[starts])[grp]  # caps of the items ahead in the group
    wrev = np.cumsum(ww[::-1])[::-1]
    nxt = np.append(wrev[starts[1:]], 0.0)
    w_from = wrev - nxt[grp]
    lam = (tot[gg] - before) / w_from
    sat = cc / ww <= lam
    # the saturated items form a prefix of each group; lambda is the one at the first unsaturated item
    first_unsat = np.where(~sat, np.arange(len(gg)), len(gg))
    fu = np.minimum.reduceat(first_unsat, starts)
    lam_g = np.where(fu < len(gg), lam[np.minimum(fu, len(gg) - 1)], np.inf)
    out[idx] = np.minimum(cc, np.maximum(lam_g[grp], 0.0) * ww)
    return out
