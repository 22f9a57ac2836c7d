"""Follow the bundle's VERIFY.md literally, with the real sha256sum, openssl and python3."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from evidence.export import export_bundle
from tests.evidence import bundles
from tests.evidence.conftest import Site

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "unzip", "sha256sum", "openssl", "python3")),
    reason="needs bash, unzip, sha256sum, openssl and python3",
)


def run_verify_md(bundle: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run every shell block of the bundle's own VERIFY.md, in order, stopping at the first failure."""
    with zipfile.ZipFile(bundle) as archive:
        text = archive.read("VERIFY.md").decode()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 9, "VERIFY.md lost a step"
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", "\n".join(blocks)], check=False, cwd=bundle.parent,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def bundle(site: Site, tmp_path: Path) -> Path:
    folder = tmp_path / "court"
    folder.mkdir()
    return export_bundle(site.ev, "clip0", folder / "case 14.zip", case="2026-014", reason="hearing", by="Dr. Okafor")


def test_verify_md_passes_on_a_genuine_bundle(bundle: Path) -> None:
    result = run_verify_md(bundle)
    assert result.returncode == 0, result.stderr
    assert "clip/clip0.mp4: OK" in result.stdout
    assert result.stdout.count("Signature Verified Successfully") == 1 + 4 + 1  # manifest, entries, checkpoint
    assert "custody chain OK: 4 entries" in result.stdout and "checkpoint OK" in result.stdout
    assert "OK: 4 entries are in the checkpoint's Merkle tree" in result.stdout


def test_verify_md_refuses_an_entry_at_another_position_of_the_tree(bundle: Path) -> None:
    """A proof for one entry does not fit another: step 8 fails even if the earlier steps were skipped."""
    def change(items: bundles.Members) -> None:
        first, second = "custody/00000001.proof", sorted(n for n in items if n.endswith(".proof"))[1]
        items[first], items[second] = items[second], items[first]

    tampered = bundles.rewrite(bundle, bundle.with_name("tampered.zip"), change)
    bundle.unlink()
    tampered.rename(bundle)
    with zipfile.ZipFile(bundle) as archive:
        text = archive.read("VERIFY.md").decode()
    step8 = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    subprocess.run(["bash", "-c", step8[0]], check=True, cwd=bundle.parent, capture_output=True)
    result = subprocess.run(["sh", "-c", step8[7]], check=False, cwd=bundle.parent / "bundle",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "FAILED: custody/00000001.json is not entry 1" in result.stderr


@pytest.mark.parametrize(("member", "offset"), [("clip/clip0.mp4", 1000), ("manifest.json", 40)])
def test_verify_md_fails_on_one_changed_byte(bundle: Path, member: str, offset: int) -> None:
    def change(items: bundles.Members) -> None:
        items[member] = bundles.flip_byte(items[member], offset)

    tampered = bundles.rewrite(bundle, bundle.with_name("tampered.zip"), change)
    bundle.unlink()
    tampered.rename(bundle)  # same name: VERIFY.md names the file
    result = run_verify_md(bundle)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr or "Failure" in result.stdout + result.stderr


def test_free_text_cannot_smuggle_commands_into_verify_md(site: Site, tmp_path: Path) -> None:
    case = "x`\n```sh\ntouch pwned\n```\n"
    bundle = export_bundle(site.ev, "clip1", tmp_path / "b.zip", case=case, reason="r", by="b")
    result = run_verify_md(bundle)  # asserts there are still exactly seven shell blocks
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "bundle" / "pwned").exists()
