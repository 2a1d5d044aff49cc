"""Sweep figures: text axes keep their labels whatever pandas calls text (object under pandas 2, str under
pandas 3), an averaged axis is faceted or named, replicates get error bars, axes carry names and units."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from kumo.report import sweep_figure, sweep_plot


def _results(text_dtype):
    rows = []
    for i, sched in enumerate(["MMWF", "HPGWF", "FF"]):
        for idle in (400.0, 700.0):
            for seed in (0, 1, 2):
                rows.append({"point": len(rows), "key": f"k{len(rows)}", "scheduler": sched,
                             "hosts[0].power.idle_w": idle, "seed": seed, "profit": 1000.0 - 300 * i - idle + seed,
                             "migrations": 10 * i + seed})
    df = pd.DataFrame(rows)
    df["scheduler"] = df["scheduler"].astype(text_dtype)
    return df


@pytest.mark.parametrize("text_dtype", [object, pd.StringDtype(), "str"], ids=["object", "string", "str"])
def test_text_axis_keeps_its_labels_under_any_text_dtype(text_dtype):
    import matplotlib.pyplot as plt

    fig = sweep_plot(_results(text_dtype), x="scheduler", y="profit")
    axes = fig.axes
    assert len(axes) == 2  # faceted by the other swept axis (idle power), not averaged silently
    labels = [t.get_text() for t in axes[0].get_xticklabels()]
    assert labels == ["MMWF", "HPGWF", "FF"]
    assert axes[0].get_title() == "idle power (W) = 400.0" and axes[0].get_ylabel() == "profit (currency)"
    assert len(axes[0].containers) == 1  # error bars: three seeds per point
    plt.close(fig)


def test_an_averaged_axis_is_named_and_counts_start_at_zero(tmp_path):
    import matplotlib.pyplot as plt

    df = _results(object)
    df["extra"] = np.tile([1, 2, 3, 4, 5, 6], 3)  # a sixth-valued axis: too many panels, so averaged
    df = df[["point", "key", "scheduler", "hosts[0].power.idle_w", "extra", "seed", "profit", "migrations"]]
    fig = sweep_plot(df, x="scheduler", y="migrations", facet="hosts[0].power.idle_w")
    assert "mean over extra" in fig._suptitle.get_text()
    assert fig.axes[0].get_ylim()[0] == 0
    plt.close(fig)
    out = sweep_figure(df, tmp_path / "f.png", x="scheduler", y="migrations")
    assert out.stat().st_size > 1000


def test_several_metrics_get_one_panel_each_with_its_own_label():
    import matplotlib.pyplot as plt

    df = _results(object)
    df = df[df["hosts[0].power.idle_w"] == 400.0].drop(columns="hosts[0].power.idle_w")
    fig = sweep_plot(df, x="scheduler", y=["profit", "migrations"])
    axes = [a for a in fig.axes if a.get_visible()]
    assert [a.get_title() for a in axes] == ["profit (currency)", "migrations (count)"]
    assert [a.get_ylabel() for a in axes] == ["profit (currency)", "migrations (count)"]
    assert fig._suptitle.get_text() == "profit, migrations vs scheduler"
    # text axes without hue: points, not a line pretending there is an order between the schedulers
    assert all(line.get_linestyle() == "None" for a in axes for line in a.get_lines() if len(line.get_xdata()) == 3)
    plt.close(fig)
    with pytest.raises(KeyError, match="nope"):
        sweep_plot(df, x="scheduler", y=["profit", "nope"])
