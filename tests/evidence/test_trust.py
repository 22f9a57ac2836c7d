"""Trust anchors: a bundle is verified only against fingerprints the reader got from the site,
never against the key the bundle names. An attacker here runs a second site with its own key."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evidence.bundle import verify_bundle
from evidence.errors import TrustError
from evidence.export import export_bundle
from monitor.cli import evidence_cmds
from tests.conftest import base_config, write_config
from tests.evidence.conftest import Site, disclose, open_site, seal_real_clip
from tests.evidence.test_offline import offline


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    evidence_cmds.register(app)
    return app


def run(cli: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def foreign_bundle(tmp_path: Path, mp4_library: list[Path]) -> tuple[Path, str]:
    """A bundle exported by another site, with its own key, for a clip named like ours."""
    other = open_site(tmp_path / "other-site")
    seal_real_clip(other, "clip0", 0, source=mp4_library[0])
    bundle = export_bundle(other.ev, "clip0", tmp_path / "clip0-2026-014.zip", disclosure=disclose())
    kid = other.ev.keys.key_id
    other.engine.dispose()
    return bundle, kid


@pytest.fixture
def own_bundle(site: Site, tmp_path: Path) -> Path:
    return export_bundle(site.ev, "clip0", tmp_path / "own.zip", disclosure=disclose())


def keys_of(site: Site) -> tuple[str, str]:
    """The site's first key and the key it rotated to (the fixture rotates once)."""
    rotation = site.ev.rotations()[0]
    return rotation.details["old_key_id"], rotation.details["new_key_id"]


def test_a_foreign_bundle_is_never_exit_0_without_trust_and_1_with_the_wrong_one(
        cli: typer.Typer, site: Site, foreign_bundle: tuple[Path, str], tmp_path: Path) -> None:
    bundle, foreign_key = foreign_bundle
    code, out = run(cli, "verify", str(bundle))
    assert code == 3 and "UNPINNED" in out and foreign_key in out
    for anchor in keys_of(site):
        code, out = run(cli, "verify", str(bundle), "--trust", anchor)
        assert code == 1 and "not signed by the site whose fingerprint you trust" in out
    result = offline(tmp_path, "verify", str(bundle))
    assert result.returncode == 3 and "UNPINNED" in result.stdout and foreign_key in result.stdout
    result = offline(tmp_path, "verify", "--trust", keys_of(site)[0], str(bundle))
    assert result.returncode == 1 and "FAILED" in result.stderr
    with pytest.raises(TrustError):
        verify_bundle(bundle, trusted_keys=list(keys_of(site)))
    assert run(cli, "verify", str(bundle), "--trust", foreign_key)[0] == 0  # its own site's card


def test_trust_flows_forward_through_signed_rotations_only(cli: typer.Typer, site: Site, own_bundle: Path) -> None:
    first, second = keys_of(site)
    code, out = run(cli, "verify", str(own_bundle), "--trust", first)
    assert code == 0 and "VERIFIED" in out
    report = verify_bundle(own_bundle, trusted_keys=[first])
    assert report.key_ids == (first, second) and report.signed_by == second and report.anchor == first
    code, out = run(cli, "verify", str(own_bundle), "--trust", second)  # the seal was signed by the older key
    assert code == 1 and "older than the key you trust" in out
    assert run(cli, "verify", str(own_bundle), "--trust", second, "--trust", first.upper())[0] == 0


def test_keys_show_and_the_card_carry_full_fingerprints_and_the_card_is_a_trust_file(
        cli: typer.Typer, site: Site, own_bundle: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, base_config(site.root))
    first, second = keys_of(site)
    code, out = run(cli, "keys", "show", "--config", str(config))
    assert code == 0 and out.splitlines() == [f"{first}  retired", f"{second}  current"]
    card = tmp_path / "card.txt"
    assert run(cli, "keys", "card", "--out", str(card), "--config", str(config))[0] == 0
    text = card.read_text()
    assert re.findall(r"^[0-9a-f]{64}$", text, flags=re.MULTILINE) == [second, first]
    assert text.count("Signature: ____") == 2
    assert run(cli, "verify", str(own_bundle), "--trust-file", str(card))[0] == 0
    pdf = tmp_path / "card.pdf"
    assert run(cli, "keys", "card", "--out", str(pdf), "--config", str(config))[0] == 0
    assert pdf.read_bytes().startswith(b"%PDF") and second[:16] in _pdf_text(pdf)
    assert run(cli, "keys", "card", "--out", str(tmp_path / "card.doc"), "--config", str(config))[0] == 2


@pytest.mark.parametrize("content", ["", "# only comments\n", "abc\n", f"{'0' * 63}\n"])
def test_usage_errors_exit_2(cli: typer.Typer, own_bundle: Path, tmp_path: Path, content: str) -> None:
    trust_file = tmp_path / "trust.txt"
    trust_file.write_text(content)
    assert run(cli, "verify", str(own_bundle), "--trust-file", str(trust_file))[0] == 2
    assert run(cli, "verify", str(own_bundle), "--trust-file", str(tmp_path / "absent.txt"))[0] == 2
    assert run(cli, "verify", str(own_bundle), "--trust", "xyz")[0] == 2
    assert offline(tmp_path, "verify", "--trust-file", str(trust_file), str(own_bundle)).returncode == 2


def test_the_json_report_says_what_is_and_is_not_proven(cli: typer.Typer, site: Site, own_bundle: Path) -> None:
    code, out = run(cli, "verify", str(own_bundle), "--json")
    unpinned = json.loads(out)
    assert code == 3 and unpinned["trust"] == "UNPINNED" and unpinned["pinned"] is False
    assert any("who signed it" in item for item in unpinned["does_not_prove"])
    code, out = run(cli, "verify", str(own_bundle), "--json", "--trust", keys_of(site)[0])
    pinned = json.loads(out)
    assert code == 0 and pinned["trust"] == "pinned" and not any("who signed" in i for i in pinned["does_not_prove"])
    assert any("site's own clock" in item for item in pinned["does_not_prove"])
    assert pinned["software"].startswith("hotspot-monitor ")


def _pdf_text(path: Path) -> str:
    """The text drawn in a PDF made by fpdf2 (its page streams are zlib-compressed)."""
    data = path.read_bytes()
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, flags=re.DOTALL):
        try:
            chunks.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            chunks.append(match.group(1).decode("latin-1"))
    return "".join(chunks)
