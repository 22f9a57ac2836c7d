"""Deleting the newest entries with their clips, rows and local checkpoints: the witness tells.

The attacker has the storage folder and the database, not the witness folder. Without a
witness such a log is indistinguishable from one that simply ended earlier; with one,
verification names every entry that was removed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evidence.actions import Action
from evidence.verify import verify_store
from monitor.cli import evidence_cmds
from tests.conftest import base_config, write_config
from tests.evidence import tampering
from tests.evidence.conftest import Site, open_site, seal_real_clip


@pytest.fixture
def witnessed(tmp_path: Path, mp4_library: list[Path]) -> tuple[Site, Path]:
    witness = tmp_path / "witness"
    site = open_site(tmp_path / "data", witness=witness)
    for index in range(12):
        seal_real_clip(site, f"clip{index}", index, source=mp4_library[index % len(mp4_library)])
        site.ev.append(Action.VIEWED, actor="ms.garcia", clip_id=f"clip{index}")
    site.ev.flush_checkpoint()
    return site, witness


@pytest.mark.parametrize("count", [1, 2, 10])
def test_deleting_the_newest_entries_is_named_from_the_witness(witnessed: tuple[Site, Path], count: int) -> None:
    site, witness = witnessed
    assert verify_store(site.root, site.engine, witness=witness).ok
    removed = tampering.hide_newest(site.root, count)
    assert verify_store(site.root, site.engine).ok  # the storage folder alone no longer shows it
    report = verify_store(site.root, site.engine, witness=witness)
    [failure] = report.failures
    span = f"#{removed[0]}" if count == 1 else f"#{removed[0]}-#{removed[-1]}"
    assert failure.kind == "truncated" and failure.seq == removed[0]
    assert f"entries {span} were removed" in failure.message and str(witness) in failure.message


def test_hotspot_verify_names_the_removed_entries(witnessed: tuple[Site, Path], tmp_path: Path) -> None:
    site, witness = witnessed
    config = write_config(tmp_path, base_config(site.root) | {"storage": {
        "path": str(site.root), "database": f"sqlite:///{site.root}/hotspot.db", "witness_path": str(witness)}})
    removed = tampering.hide_newest(site.root, 2)
    app = typer.Typer()
    evidence_cmds.register(app)
    result = CliRunner().invoke(app, ["verify", "--json", "--config", str(config)])
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [(f["kind"], f["seq"]) for f in report["failures"]] == [("truncated", removed[0])]


def test_a_rewritten_tail_fails_the_witness_consistency_and_root(witnessed: tuple[Site, Path]) -> None:
    """Removing entries and sealing new ones to reach the old size again does not help."""
    site, witness = witnessed
    tampering.hide_newest(site.root, 3)
    reopened = open_site(site.root)
    for _ in range(3):
        reopened.ev.append(Action.VIEWED, actor="intruder", clip_id="clip0")
    reopened.ev.flush_checkpoint()
    report = verify_store(site.root, site.engine, witness=witness)
    assert "rewritten" in report.kinds()


def test_a_witness_line_whose_consistency_proof_was_edited_is_named(witnessed: tuple[Site, Path]) -> None:
    site, witness = witnessed
    path = witness / "checkpoints.log"
    lines = path.read_text().splitlines()
    number, record = next((n, json.loads(line)) for n, line in enumerate(lines)
                          if json.loads(line).get("consistency", {}).get("proof"))
    record["consistency"]["proof"][0] = "00" * 32
    lines[number] = json.dumps(record)
    path.write_text("".join(f"{line}\n" for line in lines))
    report = verify_store(site.root, site.engine, witness=witness)
    assert report.kinds() == {"inconsistent"}
    assert f"checkpoints.log:{number + 1}" in report.failures[0].message
