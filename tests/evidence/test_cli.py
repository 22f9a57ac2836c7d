"""``hotspot verify``, ``export`` and ``keys`` driven through Typer on a real store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from typer.testing import CliRunner

from monitor.cli import evidence_cmds
from tests.conftest import base_config, write_config
from tests.evidence import bundles
from tests.evidence.conftest import Site, seal_real_clip

HOTSPOT = Path(sys.executable).with_name("hotspot")


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    evidence_cmds.register(app)
    return app


@pytest.fixture
def config(site: Site, tmp_path: Path) -> Path:
    return write_config(tmp_path, base_config(site.root))


DISCLOSURE = ("--case", "2026-014", "--reason", "hearing", "--by", "Dr. Okafor",
              "--recipient", "Officer Diaz, city police", "--interest", "investigating the incident of March 2")


def run(cli: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_verify_store_exit_codes_and_json(cli: typer.Typer, config: Path, site: Site) -> None:
    code, _, err = run(cli, "verify", "--config", str(config))
    assert code == 0 and "OK" in err and "This does not prove" in err and "site's own clock" in err
    path = site.clip_path("clip2")
    path.write_bytes(bundles.flip_byte(path.read_bytes(), 10))
    code, out, _ = run(cli, "verify", "--json", "--config", str(config))
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert [(f["kind"], f["clip_id"]) for f in report["failures"]] == [("modified", "clip2")]
    code, _, err = run(cli, "verify", "--config", str(config))
    assert code == 1 and "clip2" in err and "FAILED" in err


def test_export_then_verify_the_bundle(cli: typer.Typer, config: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    code, _, err = run(cli, "export", "clip1", "--out", str(out), *DISCLOSURE, "--config", str(config))
    assert code == 0, err
    code, out_text, _ = run(cli, "verify", str(out), "--json")
    assert code == 3 and json.loads(out_text)["clip_id"] == "clip1"
    assert json.loads(out_text)["recipient"] == "Officer Diaz, city police"
    code, _, err = run(cli, "verify", str(out))
    assert code == 3 and "2026-014" in err and "UNPINNED" in err
    code, _, err = run(cli, "export", "clip1", "--out", str(out), *DISCLOSURE, "--config", str(config))
    assert code == 2 and "already exists" in err


def test_export_without_recipient_or_interest_is_refused(cli: typer.Typer, config: Path, site: Site,
                                                        tmp_path: Path) -> None:
    before = len(site.ev.entries())
    for missing in ("--recipient", "--interest"):
        args = list(DISCLOSURE)
        del args[args.index(missing):args.index(missing) + 2]
        code, _, err = run(cli, "export", "clip1", "--out", str(tmp_path / "x.zip"), *args, "--config", str(config))
        assert code == 2 and missing in err
        code, _, err = run(cli, "export", "clip1", "--out", str(tmp_path / "x.zip"), *args, missing, " ",
                           "--config", str(config))
        assert code == 2 and missing in err
    assert len(site.ev.entries()) == before and not (tmp_path / "x.zip").exists()


def test_usage_errors_exit_2_and_failures_exit_1(cli: typer.Typer, config: Path, site: Site, tmp_path: Path) -> None:
    assert run(cli, "verify", str(tmp_path / "absent.zip"))[0] == 2
    assert run(cli, "verify", "--config", str(tmp_path / "nope.yaml"))[0] == 2
    assert run(cli, "export", "clip1", "--out", "x.zip", "--config", str(config))[0] == 2
    code, _, err = run(cli, "export", "unknown", "--out", str(tmp_path / "x.zip"), *DISCLOSURE,
                       "--config", str(config))
    assert code == 2 and "no sealed clip" in err
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert run(cli, "verify", str(tmp_path / "junk.zip"))[0] == 1
    (site.root / "keys" / "signing.pem").chmod(0o644)
    code, _, err = run(cli, "export", "clip1", "--out", str(tmp_path / "y.zip"), *DISCLOSURE,
                       "--config", str(config))
    assert code == 1 and "too open" in err


def test_keys_show_rotate_and_export_public(cli: typer.Typer, config: Path, tmp_path: Path) -> None:
    code, before, _ = run(cli, "keys", "show", "--config", str(config))
    current = [line.split()[0] for line in before.splitlines() if line.endswith("current")]
    assert code == 0 and len(current) == 1 and len(before.splitlines()) == 2
    code, out, _ = run(cli, "keys", "rotate", "--by", "admin", "--config", str(config))
    assert code == 0 and out.startswith(f"rotated: {current[0]} -> ")
    _, after, _ = run(cli, "keys", "show", "--config", str(config))
    assert f"{current[0]}  retired" in after and len(after.splitlines()) == 3
    target = tmp_path / "site-keys.pem"
    assert run(cli, "keys", "export-public", "--all", "--out", str(target), "--config", str(config))[0] == 0
    pems = target.read_text().split("-----END PUBLIC KEY-----")[:-1]
    assert len(pems) == 3 and all(load_pem_public_key((p + "-----END PUBLIC KEY-----").encode()) for p in pems)
    _, single, _ = run(cli, "keys", "export-public", "--config", str(config))
    assert single.count("BEGIN PUBLIC KEY") == 1 and "PRIVATE" not in target.read_text() + single


def test_verify_report_saved_to_a_file_names_everything_in_full(
        config: Path, site: Site, tmp_path: Path, mp4_library: list[Path]) -> None:
    """Rich used to cut cells at 80 columns on a pipe, so a saved report could not name the clip."""
    clip_id = "129654cbb14e479ab6e0953302" + "f" * 38
    seal_real_clip(site, clip_id, 3, source=mp4_library[3])
    path = site.clip_path(clip_id)
    path.write_bytes(bundles.flip_byte(path.read_bytes(), 10))
    report = tmp_path / "report.txt"
    with report.open("w") as handle:
        code = subprocess.run([HOTSPOT, "verify", "--config", str(config)], stdout=handle,
                              stderr=subprocess.STDOUT, check=False, timeout=120).returncode
    text = report.read_text()
    assert code == 1 and "FAILED" in text
    assert clip_id in text, text
    assert "…" not in text, text
