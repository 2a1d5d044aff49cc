"""The Kohne study's set-ups (scenario, ledger, calibration record) and the reference table."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "SETUPS", "KohneSetup", "base_dicts", "data_file", "load_reference", "load_setup"]

#: the reference table's columns, in its order
COLUMNS = ("scheduler", "migrations", "sla_breaks_cpu", "sla_breaks_ram", "sla_breaks_uptime", "penalties", "costs",
           "profit", "margin_percent", "revenue")
#: set-ups shipped with kumo, by name (``kumo compare --setup guard``)
SETUPS = {"classic": "kohne-calibration.json", "guard": "kohne-calibration-guard.json"}


def data_file(name: str) -> Path:
    """A file of the study's data folder."""
    return Path(str(resources.files("kumo.studies.kohne2018").joinpath("data", name)))


def load_reference(path: str | Path | None = None) -> pd.DataFrame:
    """Kohne's Table 10.10 (``data/kohne-table-10-10.csv``), indexed by scheduler."""
    df = pd.read_csv(path or data_file("kohne-table-10-10.csv"))
    return df[list(COLUMNS)].set_index("scheduler")


@dataclass(frozen=True)
class KohneSetup:
    """The anchor scenario: ``scenario`` (dict, controller ``sla`` with the common parameters), ``ledger``
    (dict for :class:`kumo.accounting.LedgerSpec`) and ``calibration`` (what was calibrated, on which
    rows, with which script; the constants with their status)."""

    scenario: dict[str, Any]
    ledger: dict[str, Any]
    calibration: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def calibration_rows(self) -> list[str]:
        return list(self.calibration.get("calibrated_on", []))

    def constants(self) -> pd.DataFrame:
        """Every documented constant with its value and status (calibrated / reference / assumption)."""
        rows = [{"constant": k, **v} for k, v in self.calibration.get("constants", {}).items()]
        return pd.DataFrame(rows)


def load_setup(path: str | Path | None = None) -> KohneSetup:
    """The calibrated set-up (default: ``data/kohne-calibration.json``), a shipped one by name (``"classic"``,
    ``"guard"``: :data:`SETUPS`) or another file of the same shape."""
    p = Path(path) if path is not None else data_file(SETUPS["classic"])
    if path is not None and not p.exists() and str(path) in SETUPS:
        p = data_file(SETUPS[str(path)])
    data = json.loads(p.read_text())
    return KohneSetup(scenario=data["scenario"], ledger=data.get("ledger", {}),
                      calibration={k: v for k, v in data.items() if k not in ("scenario", "ledger")}, source=str(p))


def base_dicts() -> tuple[dict[str, Any], dict[str, Any]]:
    """The calibrated set-up's scenario and ledger, as fresh dicts (the ``kohne`` sweep base)."""
    s = load_setup()
    return copy.deepcopy(s.scenario), copy.deepcopy(s.ledger)
