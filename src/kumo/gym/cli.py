"""``kumo gym``: the environments' command group (``baselines``), registered by :mod:`kumo.gym.plugin`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from kumo.cli.common import PluginOpt, QuietOpt, bar, console, fail, load_plugins, say, wide
from kumo.errors import KumoError

__all__ = ["gym_app"]

gym_app = typer.Typer(help="Gymnasium environments over kumo (the rl extra: pip install 'kumosim[rl]').",
                      no_args_is_help=True)


class Env(str, Enum):
    placement = "placement"
    consolidation = "consolidation"


class Fmt(str, Enum):
    table = "table"
    csv = "csv"


_IDS = {"placement": "kumo/Placement-v0", "consolidation": "kumo/Consolidation-v0"}


@gym_app.command("baselines")
def baselines_cmd(
    env: Annotated[Env, typer.Argument(help="placement (kumo/Placement-v0) or consolidation (kumo/Consolidation-v0).")],
    trace: Annotated[list[str] | None, typer.Option("--trace", "-t", metavar="<name|path>",
                                                    help="A trace of the episode pool (embedded name or path; "
                                                         "repeatable). Default: bitbrains-rnd.")] = None,
    episodes: Annotated[int, typer.Option("--episodes", "-n", min=1, help="Episodes per baseline.")] = 10,
    window_steps: Annotated[int, typer.Option(help="Steps per episode (288: a day of 300 s steps).")] = 288,
    split: Annotated[Literal["train", "test", "all"], typer.Option(help="Which windows of the pool.")] = "test",
    setup: Annotated[str | None, typer.Option(metavar="<name>", help="A registered set-up (sweep base) giving scenario and "
                                              "ledger, e.g. kohne.")] = None,
    scenario: Annotated[Path | None, typer.Option(help="Scenario TOML for every trace (default: each trace's "
                                                  "default scenario).")] = None,
    baseline: Annotated[list[str] | None, typer.Option("--baseline", "-b", metavar="<name>",
                                                       help="Run only this baseline (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Episode i uses reset(seed=seed + i), the same for every baseline.")] = 0,
    fmt: Annotated[Fmt, typer.Option("--format", help="table, or csv (means and half-widths).")] = Fmt.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write every episode's row to this CSV.")] = None,
    quiet: QuietOpt = False,
    plugin: PluginOpt = None,
) -> None:
    """Every heuristic kumo ships, inside ENV on the same episodes: mean +- 95 % CI (Student t over episodes)
    of reward, profit, energy, SLA breaks, migrations and rejections."""
    load_plugins(plugin)
    try:
        import gymnasium as gym
    except ImportError:
        fail(KumoError("kumo gym needs gymnasium: pip install 'kumosim[rl]'"))
        return
    import kumo.gym  # noqa: F401  (registers the environments)
    from kumo.gym.baselines import evaluate, metrics_of, summarize
    from kumo.gym.policies import consolidation_baselines, placement_baselines

    traces = tuple(trace or ["bitbrains-rnd"])
    kwargs: dict[str, Any] = {"traces": traces, "window_steps": window_steps, "split": split,
              "setup": setup, "scenario": None if scenario is None else str(scenario)}
    try:
        pols = placement_baselines(seed) if env == Env.placement else consolidation_baselines(seed)
        if baseline:
            known = {p.name for p in pols}
            unknown = sorted(set(baseline) - known)
            if unknown:
                raise KumoError(f"unknown baseline(s) {unknown}; valid: {', '.join(p.name for p in pols)}")
            pols = [p for p in pols if p.name in baseline]
        with bar("episodes", quiet or fmt != Fmt.table, unit="episodes") as progress:
            runs = evaluate(lambda: gym.make(_IDS[env.value], **kwargs), pols, episodes, seed, progress)
    except (KumoError, OSError, ValueError) as e:
        fail(e)
        return
    table = summarize(runs)
    if out is not None:
        runs.to_csv(out, index=False)
        say(quiet, f"episodes written to {out}")
    if fmt == Fmt.csv:
        typer.echo(table.to_csv(index=False, float_format="%.6g").rstrip())
        return
    t = Table(title=f"{_IDS[env.value]}: baselines on {episodes} {split} episode(s) of {window_steps} steps "
                    f"({', '.join(traces)}); mean +- 95 % CI (Student t over episodes)",
              header_style="bold")
    t.add_column("policy")
    metrics = metrics_of(runs)
    for m in metrics:
        t.add_column(m, justify="right")
    for _, r in table.iterrows():
        t.add_row(str(r["policy"]), *[_pm(r[m], r[f"{m}_ci"]) for m in metrics])
    wide(max(120, console.width)).print(t)


def _pm(mean: float, ci: float) -> str:
    if ci != ci:  # NaN: one episode
        return f"{mean:,.4g}"
    return f"{mean:,.6g} +- {ci:,.3g}"
