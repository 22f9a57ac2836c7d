"""The case bundle carries what a clip bundle carries (inclusion proofs, timestamp tokens from a
real authority, the software version, a draft certificate), verifies offline (both commands,
with trust anchors, and VERIFY.md by hand without Python), and one changed byte in any member,
or any added, missing or swapped member, fails it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from evidence.bundle import verify_bundle
from evidence.case_bundle import verify_case_bundle
from evidence.errors import VerificationError
from evidence.export import software
from evidence.timestamps import load_roots
from monitor.service.routers.bundles import site_key_ids
from tests.conftest import TOOLS
from tests.evidence import bundles
from tests.evidence.test_verify_md import run_verify_md, steps
from tests.fixtures.tsa import TimestampAuthority, make_authority
from tests.service.casework import BASE, case_with_two_cameras, export
from tests.service.conftest import Server, log_in, make_site, serve, shoot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimestampAuthority]:
    """OpenSSL's own timestamp authority on loopback."""
    served = TimestampAuthority(make_authority(tmp_path_factory.mktemp("tsa")))
    yield served
    served.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, authority: TimestampAuthority) -> Iterator[Server]:
    """The service of a site whose checkpoints are timestamped by ``authority``."""
    site = make_site(tmp_path_factory.mktemp("site"), max_bundle_bytes=5 * 1024 * 1024,
                     config={"evidence": {"timestamp_authorities": [authority.url],
                                          "timestamp_ca_file": str(authority.ca_file)}})
    with serve(site.app) as url:
        yield Server(url, site)


def fingerprint(server: Server) -> str:
    """The site's first key, as its card gives it: later keys descend from it by rotation."""
    return site_key_ids(server.site.runtime.evidence)[0]


def evidence_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidence", "verify", *args], check=False, capture_output=True,
                          text=True, timeout=120)


def test_case_bundle_carries_proofs_tokens_version_and_certificate(server: Server, authority: TimestampAuthority,
                                                                   tmp_path: Path) -> None:
    case, clips = case_with_two_cameras(server, "2026-0050")
    bundle = export(server, case, tmp_path)
    items = bundles.members(bundle)
    manifest = json.loads(items["manifest.json"])
    entries = [n for n in items if n.startswith("custody/") and n.endswith(".json")]
    assert entries and all(n.removesuffix(".json") + ".proof" in items for n in entries)
    assert all(item["inclusion"] is not None for item in manifest["custody"])
    [token] = [n for n in items if n.endswith(".tsr")]
    assert items[token.replace(".tsr", ".url")].decode() == authority.url
    assert manifest["software"] == software() and manifest["certificate"]["file"] == "CERTIFICATE.txt"
    certificate = items["CERTIFICATE.txt"].decode()
    assert "902(14)" in certificate and "Signature: ____" in certificate and software()["version"] in certificate
    assert all(f"SHA-256 {clip.sha256}" in certificate and f"clip/{clip.id}.mp4" in certificate for clip in clips)
    assert manifest["report"]["sha256"] in certificate and manifest["report"]["file"] in certificate
    assert "for case 2026-0050" in certificate and "District Office, J. Park" in certificate

    report = verify_case_bundle(bundle, timestamp_roots=load_roots(authority.ca_file))
    assert report.merkle_root == manifest["checkpoint"]["checkpoint"]["root"] and report.timestamps_unchecked == 0
    assert len(report.timestamps) == 1 and "Test TSA" in report.timestamps[0]
    assert any("timestamp authority attests" in line for line in report.proves)
    assert verify_case_bundle(bundle).timestamps_unchecked == 1  # carried, not checked without a root
    rogue = make_authority(tmp_path / "rogue", name="Rogue TSA")
    with pytest.raises(VerificationError):
        verify_case_bundle(bundle, timestamp_roots=load_roots(rogue / "ca.crt"))

    card = tmp_path / "card.txt"
    card.write_text(f"# the site's key card\n{fingerprint(server)}\n")
    for command in ([sys.executable, "-m", "monitor.cli", "verify"], [sys.executable, "-m", "evidence", "verify"]):
        def run(*args: str, command: list[str] = command) -> tuple[int, str]:
            done = subprocess.run([*command, str(bundle), *args], check=False, capture_output=True, text=True,
                                  timeout=120)
            return done.returncode, done.stdout + done.stderr

        code, output = run("--trust", fingerprint(server), "--tsa-ca", str(authority.ca_file))
        assert code == 0 and "2026-0050" in output and "VERIFIED" in output, output
        assert "timestamped by CN=Test TSA" in output and software()["version"] in output
        assert run("--trust-file", str(card))[0] == 0
        code, output = run()
        assert code == 3 and "UNPINNED" in output and fingerprint(server) in output
        code, output = run("--trust", "0" * 64)
        assert code == 1 and "FAILED" in output
        assert run("--trust", "not-a-fingerprint")[0] == 2
        assert run("--trust", fingerprint(server), "--tsa-ca", str(rogue / "ca.crt"))[0] == 1


def test_case_bundle_verifies_offline_and_any_changed_byte_fails_it(server: Server, authority: TimestampAuthority,
                                                                    tmp_path: Path) -> None:
    case, clips = case_with_two_cameras(server, "2026-0060")
    server.site.runtime.evidence.rotate_key(actor="admin")  # the bundle carries the rotation
    bundle = export(server, case, tmp_path)
    roots = load_roots(authority.ca_file)
    report = verify_case_bundle(bundle, trusted_keys=[fingerprint(server)], timestamp_roots=roots)
    assert len(report.key_ids) == 2 and report.anchor == fingerprint(server) != report.signed_by
    assert report.case == "2026-0060" and {c.clip_id for c in report.clips} == {c.id for c in clips}
    assert report.recipient == "District Office, J. Park"
    items = bundles.members(bundle)
    kinds = {"clip/", "report/", "manifest.", "SHA256SUMS", "VERIFY.md", "CERTIFICATE.txt", "checkpoint.", "keys/",
             "rotations/", "timestamps/", ".json", ".sig", ".proof", ".tsr", ".url"}
    assert all(any(kind in name for name in items) for kind in kinds), sorted(items)
    with zipfile.ZipFile(bundle) as archive:
        spans = {info.filename: (info.header_offset + len(info.FileHeader()), info.file_size)
                 for info in archive.infolist()}
    data = bundle.read_bytes()
    for name in items:
        # The bytes as stored in the zip (the archive's CRC notices), and the member rewritten into
        # a well-formed zip (only the bundle's own hashes and signatures can notice).
        offset, size = spans[name]
        raw = bytearray(data)
        raw[offset + size // 2] ^= 0x01
        (tmp_path / "raw.zip").write_bytes(bytes(raw))
        rewritten = bundles.rewrite(bundle, tmp_path / "rewritten.zip", lambda m, name=name: m.update(
            {name: bundles.flip_byte(m[name], len(m[name]) // 2)}))
        for tampered in (tmp_path / "raw.zip", rewritten):
            with pytest.raises(VerificationError):
                verify_case_bundle(tampered, timestamp_roots=roots)
        if name.startswith(("clip/", "report/", "CERTIFICATE", "timestamps/")) or name.endswith(".proof"):
            done = evidence_cli(str(rewritten), "--trust", fingerprint(server))
            assert done.returncode == 1 and "FAILED" in done.stderr, name


@pytest.mark.skipif(not all(shutil.which(tool) for tool in TOOLS), reason=f"needs {', '.join(TOOLS)}")
def test_case_verify_md_runs_literally_without_python(server: Server, authority: TimestampAuthority,
                                                      tmp_path: Path, no_python_path: str) -> None:
    case, clips = case_with_two_cameras(server, "2026-0070")
    folder = tmp_path / "court"
    folder.mkdir()
    bundle = export(server, case, folder)
    tsa = {"TSA_CA": str(authority.ca_file)}
    code, output, ran = run_verify_md(bundle, fingerprint(server), no_python_path, extra_env=tsa)
    assert code == 0 and ran == len(steps(bundle)) == 9 and output.count("OK:") == 9, output
    assert all(f"clip/{clip.id}.mp4: OK" in output and f"clip {clip.id}: chain OK" in output for clip in clips)
    assert ("rotated to" in output) == (len(site_key_ids(server.site.runtime.evidence)) > 1)
    assert "VERIFY.md: OK" in output and "report: made in custody/" in output and "OK: 2 clip chain(s)" in output
    assert "OK: 1 timestamp token(s) verified" in output and "Time stamp:" in output
    assert "entries are in the checkpoint's Merkle tree" in output
    check = next(folder.glob("*.check"))
    genuine = bundle.read_bytes()
    members = bundles.members(bundle)
    chosen = [f"clip/{clips[1].id}.mp4", next(n for n in members if n.startswith("report/")), "CERTIFICATE.txt",
              "manifest.json", "checkpoint.json", next(n for n in members if n.endswith(".tsr")),
              max(n for n in members if n.endswith(".proof")),
              min(n for n in members if n.startswith("custody/") and n.endswith(".json"))]
    for name in chosen:
        shutil.rmtree(check)
        bundles.rewrite(bundle, tmp_path / "t.zip", lambda m, name=name: m.update(
            {name: bundles.flip_byte(m[name], len(m[name]) // 2)})).replace(bundle)  # the name VERIFY.md uses
        code, output, _ = run_verify_md(bundle, fingerprint(server), no_python_path, extra_env=tsa)
        assert code != 0 and "FAILED" in output, name
        bundle.write_bytes(genuine)
    shutil.rmtree(check)
    code, output, _ = run_verify_md(bundle, fingerprint(server), no_python_path, extra_env={
        "TSA_CA": str(make_authority(tmp_path / "rogue", name="Rogue TSA") / "ca.crt")})
    assert code != 0 and "does not verify over checkpoint.json" in output


def test_case_verify_md_free_text_stays_text(server: Server, authority: TimestampAuthority, tmp_path: Path,
                                             no_python_path: str) -> None:
    stair, _ = server.site.add_clip(start=BASE + timedelta(hours=4))
    with server.client("admin") as client:
        case = client.post("/api/cases", json={"number": "2026-0090",
                                               "title": "x`\n```sh\ntouch pwned\n```\n{{step 2}}"}).json()
        assert client.post(f"/api/cases/{case['id']}/clips", json={"clip_id": stair.id}).status_code == 200
    bundle = export(server, case, tmp_path)
    code, output, ran = run_verify_md(bundle, fingerprint(server), no_python_path,
                                      extra_env={"TSA_CA": str(authority.ca_file)})
    assert code == 0 and ran == len(steps(bundle)) == 9, output
    assert f"clip {stair.id}: chain OK" in output and "OK: 1 clip chain(s)" in output
    assert not list(tmp_path.rglob("pwned"))


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
        "a proof left out": lambda m: m.pop(next(n for n in sorted(m) if n.endswith(".proof"))),
        "a token left out": lambda m: m.pop(next(n for n in sorted(m) if n.endswith(".tsr"))),
        "no certificate": lambda m: m.pop("CERTIFICATE.txt"),
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


def test_the_verify_api_takes_a_case_bundle_within_the_upload_limit(server: Server, tmp_path: Path) -> None:
    case, clips = case_with_two_cameras(server, "2026-0097")
    bundle = export(server, case, tmp_path)
    data = bundle.read_bytes()
    with server.client("investigator") as client:
        result = client.post("/api/bundles/verify", content=data, headers={"Content-Type": "application/zip"}).json()
        assert result["ok"] is True and result["kind"] == "hotspot-case-bundle", result
        assert len(result["result"]["timestamps"]) == 1 and result["result"]["case"] == "2026-0097" and {c["clip_id"] for c in result["result"]["clips"]} == {
            c.id for c in clips}
        broken = bundles.members(bundle)
        broken[f"clip/{clips[0].id}.mp4"] = bundles.flip_byte(broken[f"clip/{clips[0].id}.mp4"], 700)
        failed = client.post("/api/bundles/verify", content=bundles.write(tmp_path / "b.zip", broken).read_bytes(),
                             headers={"Content-Type": "application/zip"}).json()
        assert failed["ok"] is False and f"clip/{clips[0].id}.mp4" in failed["error"]
        assert {m["id"]: m["matches"] for m in failed["claimed"]["members"]} == {
            clips[0].id: False, clips[1].id: True, "report": True}
        too_big = client.post("/api/bundles/verify", content=data + b"\0" * (5 * 1024 * 1024),
                              headers={"Content-Type": "application/zip"})
        assert too_big.status_code == 413
    logged = [e for e in server.site.runtime.evidence.entries() if str(e.action) == "verified"][-2:]
    assert [e.details.get("bundle_case") for e in logged] == ["2026-0097", None]
    assert [e.details["ok"] for e in logged] == [True, False]


@pytest.mark.browser
def test_the_verify_page_shows_a_case_bundle_and_a_changed_byte(page: Page, server: Server, tmp_path: Path) -> None:
    case, clips = case_with_two_cameras(server, "2026-0099")
    bundle = export(server, case, tmp_path)
    log_in(page, server, "investigator", "/verify")
    page.set_input_files("#verify-form input[type=file]", str(bundle))
    page.click("#verify-form button[type=submit]")
    result = page.locator("#verify-result")
    expect(result).to_have_class("ok")
    expect(result).to_contain_text("VERIFIED: case bundle intact and signed by this site's key")
    expect(result).to_contain_text("Case 2026-0099 (Fight, stairwell to hallway): 2 clip(s)")
    for clip in clips:
        expect(result).to_contain_text(f"clip {clip.id}: VERIFIED, sha256 {clip.sha256}")
    expect(result).to_contain_text("report: VERIFIED, sha256")
    expect(result).to_contain_text("timestamped by CN=Test TSA")  # against the root the site configures
    shoot(page, "verify-case-bundle.png", full_page=True)

    report = next(n for n in bundles.members(bundle) if n.startswith("report/"))
    tampered = bundles.rewrite(bundle, tmp_path / "tampered.zip", lambda m: m.update(
        {report: bundles.flip_byte(m[report], len(m[report]) // 2)}))
    page.set_input_files("#verify-form input[type=file]", str(tampered))
    page.click("#verify-form button[type=submit]")
    expect(result).to_have_class("failed")
    expect(result).to_contain_text(f"NOT VERIFIED: {report}: hashes to")
    expect(result).to_contain_text("Case 2026-0099 (as the bundle claims; not verified)")
    expect(result).to_contain_text("report: DOES NOT MATCH the SHA-256 its manifest lists")
    for clip in clips:
        expect(result).to_contain_text(f"clip {clip.id}: matches the SHA-256 its manifest lists")
    shoot(page, "verify-case-bundle-failed.png", full_page=True)
    assert "VERIFIED:" not in result.inner_text().replace("NOT VERIFIED:", "")
