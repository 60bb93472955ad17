"""The ``rxsteps`` command is the CLI's ``main``: declared in setup.cfg, and installed so."""

from __future__ import annotations

import configparser
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path

import pytest

import rxsteps.cli

SETUP = Path(__file__).resolve().parents[1] / "setup.cfg"


def test_setup_cfg_declares_the_rxsteps_command() -> None:
    config = configparser.ConfigParser()
    config.read(SETUP, encoding="utf-8")
    scripts = config["options.entry_points"]["console_scripts"].strip().splitlines()
    assert "rxsteps = rxsteps.cli:main" in [line.strip() for line in scripts]


def test_the_installed_rxsteps_command_loads_the_clis_main() -> None:
    try:
        distribution("rxsteps")
    except PackageNotFoundError:  # pragma: no cover - CI installs the package
        pytest.skip("rxsteps is not installed (pip install -e .)")
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "rxsteps"]
    assert script.value == "rxsteps.cli:main"
    assert script.load() is rxsteps.cli.main
