"""Follow the bundle's VERIFY.md literally, as a reader would: each shell block in order, run by
``sh`` with a PATH holding only unzip, sha256sum, openssl and POSIX tools (no Python)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from evidence.bundle import verify_bundle
from evidence.export import export_bundle
from evidence.hashing import sha256_file
from monitor.cli.key_card import grouped
from tests.conftest import TOOLS
from tests.evidence import bundles
from tests.evidence.conftest import Site, disclose, open_site, seal_real_clip

pytestmark = pytest.mark.skipif(not all(shutil.which(tool) for tool in TOOLS), reason=f"needs {', '.join(TOOLS)}")


def steps(bundle: Path) -> list[str]:
    with zipfile.ZipFile(bundle) as archive:
        text = archive.read("VERIFY.md").decode()
    return re.findall(r"^## Step \d+\..*?\n```sh\n(.*?)```", text, flags=re.DOTALL | re.MULTILINE)


def run_verify_md(bundle: Path, fingerprint: str, path: str, shell: str = "sh",
                  extra_env: dict[str, str] | None = None) -> tuple[int, str, int]:
    """Run the steps in order like a reader, stopping at the first that fails.
    Returns the last exit status, all output, and how many steps ran."""
    output, ran, code = "", 0, 0
    env = {"PATH": path, "CARD_FINGERPRINT": fingerprint, "LC_ALL": "C", **(extra_env or {})}
    for block in steps(bundle):
        assert block.lstrip().startswith("(") and block.rstrip().endswith(")"), "each step is a subshell"
        result = subprocess.run([shell, "-c", block], cwd=bundle.parent, env=env, capture_output=True, text=True,
                                timeout=60, check=False, executable=shutil.which(shell))
        ran, code, output = ran + 1, result.returncode, output + result.stdout + result.stderr
        if code != 0:
            break
    return code, output, ran


@pytest.fixture
def bundle(site: Site, tmp_path: Path) -> Path:
    folder = tmp_path / "court"
    folder.mkdir()
    return export_bundle(site.ev, "clip0", folder / "clip0-2026 014.zip", disclosure=disclose(case="2026 014"))


def first_key(site: Site) -> str:
    return next(e for e in site.ev.entries()).key_id


def test_step_8_refuses_an_entry_at_another_position_of_the_tree(site: Site, bundle: Path,
                                                                 no_python_path: str) -> None:
    """A proof for one entry does not fit another: step 8 checks each leaf against the signed root."""
    code, output, _ = run_verify_md(bundle, first_key(site), no_python_path)
    assert code == 0 and "OK: 4 entries are in the checkpoint's Merkle tree of" in output, output
    [unpacked] = bundle.parent.glob("*.check")
    first, second = unpacked / "bundle" / "custody" / "00000001.proof", sorted(
        (unpacked / "bundle" / "custody").glob("*.proof"))[1]
    first_text, second_text = first.read_bytes(), second.read_bytes()
    first.write_bytes(second_text)
    second.write_bytes(first_text)
    step8 = steps(bundle)[7]
    assert "Merkle" in step8 or "proof" in step8
    result = subprocess.run(["sh", "-c", step8], cwd=bundle.parent, capture_output=True, text=True, timeout=60,
                            check=False, env={"PATH": no_python_path, "LC_ALL": "C"})
    assert result.returncode != 0 and "FAILED: custody/00000001.json is not entry 1" in result.stderr


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_every_step_passes_on_a_genuine_bundle_without_python(site: Site, bundle: Path, no_python_path: str,
                                                              shell: str) -> None:
    assert len(steps(bundle)) >= 7
    code, output, ran = run_verify_md(bundle, grouped(first_key(site)).upper(), no_python_path, shell)
    assert code == 0, output
    assert ran == len(steps(bundle)) and output.count("OK:") == ran
    assert "clip/clip0.mp4: OK" in output and "rotated to" in output  # the site rotated its key once
    assert "one unbroken chain of 4 entries for clip clip0" in output
    assert "clip0-2026 014.zip" in bundle.name and (bundle.parent / "clip0-2026-014.check").is_dir()


def test_the_card_of_the_newer_key_also_verifies_entries_it_signed_but_not_older_ones(
        site: Site, bundle: Path, no_python_path: str) -> None:
    code, output, _ = run_verify_md(bundle, site.ev.keys.key_id, no_python_path)
    assert code != 0 and "is signed by key" in output and "not a key you trust" in output


def test_a_corrupted_entry_signature_fails_step_5(site: Site, bundle: Path, no_python_path: str) -> None:
    def change(items: bundles.Members) -> None:
        items["custody/00000004.sig"] = bundles.flip_byte(items["custody/00000004.sig"], 7)

    _replace(bundle, change)
    code, output, ran = run_verify_md(bundle, first_key(site), no_python_path)
    assert code != 0 and ran == 5, output
    assert "FAILED: custody/00000004.json: signature by key" in output


@pytest.mark.parametrize(("member", "offset", "step"), [("clip/clip0.mp4", 1000, 4), ("manifest.json", 40, 3),
                                                         ("custody/00000001.json", 30, 4)])
def test_one_changed_byte_fails(site: Site, bundle: Path, no_python_path: str, member: str, offset: int,
                                step: int) -> None:
    def change(items: bundles.Members) -> None:
        items[member] = bundles.flip_byte(items[member], offset)

    _replace(bundle, change)
    code, output, ran = run_verify_md(bundle, first_key(site), no_python_path)
    assert code != 0 and ran == step and "FAILED" in output, output


def test_a_bundle_from_another_site_fails_against_the_card(site: Site, tmp_path: Path, mp4_library: list[Path],
                                                           no_python_path: str) -> None:
    other = open_site(tmp_path / "other")
    seal_real_clip(other, "clip0", 0, source=mp4_library[0])
    folder = tmp_path / "court"
    folder.mkdir()
    forged = export_bundle(other.ev, "clip0", folder / "clip0.zip", disclosure=disclose())
    code, output, ran = run_verify_md(forged, first_key(site), no_python_path)
    assert code != 0 and ran == 2 and "does not hold the key on your card" in output
    shutil.rmtree(folder / "clip0.check")  # as step 1 asks before starting again
    code, output, _ = run_verify_md(forged, "", no_python_path)
    assert code != 0 and "set CARD_FINGERPRINT" in output
    other.engine.dispose()


def test_free_text_cannot_smuggle_commands_into_verify_md(site: Site, tmp_path: Path, no_python_path: str) -> None:
    case = "x`\n```sh\n( touch pwned )\n```\n"
    bundle = export_bundle(site.ev, "clip1", tmp_path / "b.zip", disclosure=disclose(case=case))
    code, output, ran = run_verify_md(bundle, first_key(site), no_python_path)
    assert code == 0 and ran == len(steps(bundle)) >= 7, output
    assert not list(tmp_path.rglob("pwned"))


def _replace(bundle: Path, change: bundles.Changer) -> None:
    tampered = bundles.rewrite(bundle, bundle.with_name("tampered.zip"), change)
    bundle.unlink()
    tampered.rename(bundle)  # same name: VERIFY.md names the file


def test_a_recovered_clip_verifies_and_says_so(site: Site, tmp_path: Path, no_python_path: str) -> None:
    """A clip a crash left open is sealed under ``recovered``: the bundle verifies by hand and by
    the verifier, and both say how it was sealed."""
    path = site.clip_path("crashed")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(site.clip_path("clip0"), path)
    site.ev.seal_clip(clip_id="crashed", path=path.relative_to(site.root).as_posix(),
                      sha256=sha256_file(path), size=path.stat().st_size, metadata={"camera": "hall"},
                      incomplete="the service stopped unexpectedly", recovered=True)
    folder = tmp_path / "court"
    folder.mkdir()
    bundle = export_bundle(site.ev, "crashed", folder / "crashed.zip", disclosure=disclose(case="2026-015"))
    code, output, ran = run_verify_md(bundle, first_key(site), no_python_path)
    assert code == 0 and ran == len(steps(bundle)), output
    assert "one unbroken chain of 2 entries for clip crashed" in output and "sealed as RECOVERED" in output
    assert verify_bundle(bundle).sealed_as == "recovered"
