"""Reproductions of other simulators' experiments: :func:`run_cloudsim` replays CloudSim's PlanetLab runs."""

from kumo.compat.cloudsim import run_cloudsim

__all__ = ["run_cloudsim"]
