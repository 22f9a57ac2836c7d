"""The systemd units under deploy/ parse (systemd's own checker) and run real commands: each
ExecStart names the installed ``hotspot`` program and options its command accepts."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from monitor.cli import app
from tests.conftest import REPO

UNITS = REPO / "deploy" / "systemd"
INSTALLED = "/opt/hotspot"  # where the README's district section installs the project


def exec_starts(unit: Path) -> list[list[str]]:
    lines = unit.read_text().splitlines()
    return [shlex.split(line.split("=", 1)[1].replace("%i", "school-12-a"))
            for line in lines if line.startswith("ExecStart=")]


def test_every_unit_passes_systemd_analyze_with_the_project_where_it_is_installed(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze missing: apt-get install systemd")
    units = sorted(UNITS.iterdir())
    assert {u.name for u in units} >= {"hotspot-node@.service", "hotspot-verify.service", "hotspot-verify.timer"}
    for unit in units:  # the checker wants the programs to exist: point them at this checkout
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, str(REPO)))
    result = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.parametrize("unit", ["hotspot-node@.service", "hotspot-verify.service"])
def test_exec_start_is_a_hotspot_command_with_options_it_accepts(unit: str) -> None:
    [command] = exec_starts(UNITS / unit)
    program, name, *args = command
    assert program == f"{INSTALLED}/.venv/bin/hotspot"
    assert (REPO / ".venv" / "bin" / "hotspot").exists(), "scripts/install.sh makes the same program"
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    cmd = group.commands[name]
    context = cmd.make_context(name, list(args), resilient_parsing=False)
    assert context.params["config"] == Path("/etc/hotspot/cameras.yaml")
    if name == "serve":
        assert context.params["node"] == "school-12-a", "the instance name is the node's name"
