"""The case bundle: verifies offline (both commands and VERIFY.md by hand), and one changed byte in
any member, or any added, missing or swapped member, fails it."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from evidence.bundle import verify_bundle
from evidence.case_bundle import verify_case_bundle
from evidence.errors import VerificationError
from tests.evidence import bundles
from tests.service.casework import BASE, case_with_two_cameras, export
from tests.service.conftest import Server

pytestmark = pytest.mark.slow


def run_verify_md(bundle: Path) -> subprocess.CompletedProcess[str]:
    """Run every shell block of the case bundle's own VERIFY.md, in order, stopping at the first failure."""
    with zipfile.ZipFile(bundle) as archive:
        text = archive.read("VERIFY.md").decode()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 7, "VERIFY.md lost a step"
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", "\n".join(blocks)], check=False, cwd=bundle.parent,
                          capture_output=True, text=True, timeout=120)


def test_case_bundle_verifies_offline_and_any_changed_byte_fails_it(server: Server, tmp_path: Path) -> None:
    case, clips = case_with_two_cameras(server, "2026-0060")
    bundle = export(server, case, tmp_path)
    report = verify_case_bundle(bundle)
    assert report.case == "2026-0060" and {c.clip_id for c in report.clips} == {c.id for c in clips}
    assert report.recipient == "District Office, J. Park"
    fingerprint = server.site.runtime.evidence.keys.key_id
    for command in (["-m", "monitor.cli", "verify", str(bundle)], ["-m", "evidence", "verify", str(bundle)]):
        pinned = subprocess.run([sys.executable, *command, "--trust", fingerprint], check=False,
                                capture_output=True, text=True, timeout=120)
        assert pinned.returncode == 0, pinned.stdout + pinned.stderr
        assert "2026-0060" in pinned.stdout + pinned.stderr and "VERIFIED" in pinned.stdout + pinned.stderr
    unpinned = subprocess.run([sys.executable, "-m", "evidence", "verify", str(bundle)], check=False,
                              capture_output=True, text=True, timeout=120)
    assert unpinned.returncode == 3 and "UNPINNED" in unpinned.stdout  # intact, but whose key?
    with pytest.raises(VerificationError):  # a foreign fingerprint is refused
        verify_case_bundle(bundle, trusted_keys=["0" * 64])
    with zipfile.ZipFile(bundle) as archive:
        members = [(info.filename, info.header_offset + len(info.FileHeader()), info.file_size)
                   for info in archive.infolist()]
    assert {"VERIFY.md", "manifest.json"} <= {m[0] for m in members}
    assert sum(m[0].startswith("clip/") for m in members) == 2 and any(m[0].startswith("report/") for m in members)
    data = bundle.read_bytes()
    for name, offset, size in members:
        spot = offset + size // 2
        changed = bytearray(data)
        changed[spot] ^= 0x01
        tampered = tmp_path / "tampered.zip"
        tampered.write_bytes(bytes(changed))
        with pytest.raises(VerificationError):
            verify_case_bundle(tampered)
        if name == members[0][0] or name.startswith("report/"):  # and on the command line
            done = subprocess.run([sys.executable, "-m", "evidence", "verify", str(tampered)], check=False,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 1 and "FAILED" in done.stderr, name


def test_case_verify_md_runs_literally_and_free_text_stays_text(server: Server, tmp_path: Path) -> None:
    stair, _ = server.site.add_clip(start=BASE + timedelta(hours=4))
    with server.client("admin") as client:
        case = client.post("/api/cases", json={"number": "2026-0090",
                                               "title": "x`\n```sh\ntouch pwned\n```\n"}).json()
        assert client.post(f"/api/cases/{case['id']}/clips", json={"clip_id": stair.id}).status_code == 200
    bundle = export(server, case, tmp_path)
    result = run_verify_md(bundle)  # asserts the seven steps are still seven shell blocks
    assert result.returncode == 0, result.stderr
    assert f"clip/{stair.id}.mp4: OK" in result.stdout and "VERIFY.md: OK" in result.stdout
    assert "custody chains OK: 1 clips" in result.stdout and "checkpoint OK" in result.stdout
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "case-bundle" / "pwned").exists()
    original = bundle.read_bytes()
    tampered = bundles.rewrite(bundle, tmp_path / "t.zip", lambda items: items.update(
        {f"clip/{stair.id}.mp4": bundles.flip_byte(items[f"clip/{stair.id}.mp4"], 500)}))
    tampered.replace(bundle)
    assert run_verify_md(bundle).returncode != 0
    bundle.write_bytes(original)


def test_members_cannot_be_added_swapped_or_passed_off_as_another_kind(server: Server, tmp_path: Path) -> None:
    case, clips = case_with_two_cameras(server, "2026-0095")
    bundle = export(server, case, tmp_path)
    items = bundles.members(bundle)
    report = next(name for name in items if name.startswith("report/"))
    other, _ = server.site.add_clip(start=BASE + timedelta(hours=5))
    hostile = {
        "an unlisted clip": lambda m: m.update({f"clip/{other.id}.mp4": server.site.runtime.paths.absolute(
            other.path).read_bytes()}),
        "a second report": lambda m: m.update({"report/extra.pdf": m[report]}),
        "another report": lambda m: m.update({report: m[report].replace(b"2026-0095", b"2026-0096")}),
        "a clip left out": lambda m: m.pop(f"clip/{clips[1].id}.mp4"),
        "a custody entry left out": lambda m: m.pop(next(n for n in sorted(m) if n.startswith("custody/"))),
        "another VERIFY.md": lambda m: m.update({"VERIFY.md": m["VERIFY.md"].replace(b"sha256sum -c", b"true ")}),
    }
    for what, change in hostile.items():
        try:
            verify_case_bundle(bundles.rewrite(bundle, tmp_path / "hostile.zip", change))
        except VerificationError:
            pass
        else:
            pytest.fail(f"a bundle with {what} verified")
        (tmp_path / "hostile.zip").unlink()
    with pytest.raises(VerificationError, match="hotspot-evidence-bundle"):
        verify_bundle(bundle)  # a case bundle is never taken for a clip bundle, nor the other way round
    with server.client("investigator") as client:
        single = client.post(f"/api/clips/{clips[0].id}/export", json={"case": "2026-0095", "reason": "r",
                                                                       "recipient": "p", "interest": "i"})
    assert single.status_code == 200
    (tmp_path / "single.zip").write_bytes(single.content)
    with pytest.raises(VerificationError, match="hotspot-case-bundle"):
        verify_case_bundle(tmp_path / "single.zip")
    with_report = bundles.rewrite(tmp_path / "single.zip", tmp_path / "single-report.zip",
                                  lambda m: m.update({"report/x.pdf": items[report]}))
    with pytest.raises(VerificationError, match="SHA256SUMS"):
        verify_bundle(with_report)  # a clip bundle's signed list has no room for a report
