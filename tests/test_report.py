"""The HTML report: structure checked with an HTML parser (no browser), and rendered in headless Chromium
(loads without console errors, every figure decoded); skipped with the reason when Chromium is absent."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kumo.cli import app

EXAMPLES = Path(__file__).parents[1] / "examples"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.sections: list[str] = []
        self.external: list[str] = []
        self.images: list[str] = []
        self._h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        for k in ("src", "href"):
            if a.get(k) and not a[k].startswith(("data:", "#")):
                self.external.append(a[k])
        if tag == "img":
            self.images.append(a.get("src", "")[:22])
        self._h2 = tag == "h2"

    def handle_data(self, data):
        if self._h2 and data.strip():
            self.sections.append(data.strip())
            self._h2 = False


def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    d = tmp_path_factory.mktemp("reports")
    runner = CliRunner()
    r = runner.invoke(app, ["run", str(EXAMPLES / "kohne-mmwf-lb.toml"), "--max-steps", "576", "-q", "--format", "json",
                            "-o", str(d / "run"), "--report", str(d / "run.html")])
    assert r.exit_code == 0, r.output
    spec = d / "sweep.toml"
    spec.write_text('name = "r"\nbase = "kohne"\nscheduler = "MMWF"\n[scenario.trace]\nmax_steps = 144\n'
                    '[axes]\n"controller.params.ee" = [true, false]\n[replicates]\nwindows = 2\n')
    r = runner.invoke(app, ["sweep", str(spec), "-q", "-o", str(d / "sweep"), "--jobs", "1",
                            "--report", str(d / "sweep.html")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["compare", "-s", "MMWF", "-s", "FF", "--max-steps", "144", "--windows", "2", "-q",
                            "--jobs", "1", "-o", str(d / "cmp"), "--format", "csv"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", str(d / "cmp"), "-o", str(d / "cmp.html")])
    assert r.exit_code == 0, r.output
    return d


def test_run_report_has_every_section_and_needs_no_network(reports):
    page = _parse(reports / "run.html")
    assert page.external == []  # self-contained: every figure is a data URI, nothing fetched
    assert all(src.startswith("data:image/png;base64") for src in page.images) and len(page.images) >= 6
    for s in ("Summary", "Power, energy and hosts on", "Host utilization", "Shortfalls (SLA) over time and by VM",
              "Migrations", "Provenance"):
        assert s in page.sections
    assert any(s.startswith("The ledger") for s in page.sections)
    text = (reports / "run.html").read_text()
    assert "kWh" in text and "energy_kwh" in text  # the summary with its units


def test_sweep_and_comparison_reports_show_intervals(reports):
    sweep = _parse(reports / "sweep.html")
    assert any(s.startswith("Means over 2 replicates") for s in sweep.sections) and "Figures" in sweep.sections
    cmp = _parse(reports / "cmp.html")
    assert "Profit decomposition" in cmp.sections and "Rank stability (margin)" in cmp.sections
    assert cmp.external == []


def test_report_of_a_folder_that_is_none_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(app, ["report", str(tmp_path), "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2 and "neither a run folder" in r.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (Debian package chromium; .ci/run installs it "
                                              "when it can)")
@pytest.mark.parametrize("name", ["run", "sweep", "cmp"])
def test_report_renders_in_a_real_browser_without_console_errors(reports, name, tmp_path):
    page = reports / f"{name}.html"
    n_img = len(_parse(page).images)
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                        "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'data-loaded="{n_img}"' in r.stdout  # every figure decoded by the browser
    console = [line for line in r.stderr.splitlines() if "CONSOLE" in line and ("Error" in line or "Uncaught" in line)]
    assert console == []
