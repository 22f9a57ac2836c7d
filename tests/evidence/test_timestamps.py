"""RFC 3161 timestamps from a real OpenSSL authority on loopback, and what happens when it is down."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.errors import EvidenceError
from evidence.export import export_bundle
from evidence.timestamps import (
    Timestamper,
    TimestampError,
    authority_id,
    load_roots,
    request_token,
    verify_token,
)
from evidence.verify import verify_store
from monitor.cli import evidence_cmds
from tests.conftest import base_config, write_config
from tests.evidence.conftest import Site, disclose, open_site, seal_real_clip
from tests.evidence.test_verify_md import run_verify_md
from tests.fixtures.tsa import TimestampAuthority, make_authority


@pytest.fixture(scope="session")
def authority_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_authority(tmp_path_factory.mktemp("tsa"))


@pytest.fixture
def authority(authority_folder: Path) -> Iterator[TimestampAuthority]:
    server = TimestampAuthority(authority_folder)
    yield server
    server.close()


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_token_covers_exactly_its_data_and_verifies_with_openssl(authority: TimestampAuthority,
                                                                    tmp_path: Path) -> None:
    data = b'{"size":3,"type":"hotspot-custody-checkpoint"}'
    token = request_token(authority.url, data, timeout=5)
    stamp = verify_token(token, data, roots=load_roots(authority.ca_file))
    assert "Test TSA" in stamp.authority and stamp.time.tzinfo is not None
    with pytest.raises(TimestampError, match="does not verify"):
        verify_token(token, data + b" ", roots=load_roots(authority.ca_file))
    with pytest.raises(TimestampError, match="no timestamp authority root"):
        verify_token(token, data, roots=[])
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "token.tsr").write_bytes(token)
    done = subprocess.run(["openssl", "ts", "-verify", "-in", "token.tsr", "-data", "data", "-CAfile",
                           str(authority.ca_file)], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "Verification: OK" in done.stdout


def test_a_token_from_another_authority_is_not_pinned_to_ours(authority: TimestampAuthority, tmp_path: Path) -> None:
    other = make_authority(tmp_path / "other", name="Rogue TSA")
    rogue = TimestampAuthority(other)
    try:
        token = request_token(rogue.url, b"x", timeout=5)
    finally:
        rogue.close()
    with pytest.raises(TimestampError):
        verify_token(token, b"x", roots=load_roots(authority.ca_file))


def test_every_checkpoint_gets_a_token_beside_it(authority: TimestampAuthority, tmp_path: Path,
                                                 mp4_library: list[Path]) -> None:
    site = open_site(tmp_path / "data", timestamp_authorities=[authority.url])
    seal = seal_real_clip(site, "c0", 0, source=mp4_library[0])
    stamper = site.ev.timestamper
    assert stamper is not None
    checkpoint = site.ev.checkpoint_at(seal)
    wait_for(lambda: stamper.backlog() == {authority.url: 0})
    token = stamper.tokens(checkpoint)[authority_id(authority.url)]
    folder = site.root / "timestamps"
    assert (folder / f"{checkpoint.name}.json").read_bytes() == checkpoint.signed_bytes()
    verify_token(token, checkpoint.signed_bytes(), roots=load_roots(authority.ca_file))


def test_an_authority_that_is_down_delays_tokens_never_sealing(authority: TimestampAuthority, tmp_path: Path,
                                                               mp4_library: list[Path]) -> None:
    authority.down = True
    site = open_site(tmp_path / "data", timestamp_authorities=[authority.url])
    began = time.monotonic()
    for index in range(3):
        seal_real_clip(site, f"c{index}", index, source=mp4_library[index])
    assert time.monotonic() - began < 5  # seals went through while the authority refused
    stamper = site.ev.timestamper
    assert stamper is not None
    wait_for(lambda: stamper.backlog() == {authority.url: 3})
    assert [e.action for e in site.ev.entries()] == [Action.SEALED] * 3
    authority.down = False
    wait_for(lambda: stamper.run_once() == 0)  # what the worker does every retry_after seconds
    for checkpoint_file in (site.root / "timestamps").glob("*-*.json"):
        token = checkpoint_file.with_suffix(f".{authority_id(authority.url)}.tsr").read_bytes()
        verify_token(token, checkpoint_file.read_bytes(), roots=load_roots(authority.ca_file))


def test_an_unreachable_authority_is_an_evidence_error() -> None:
    with pytest.raises(EvidenceError, match="timestamp authority"):
        request_token("http://127.0.0.1:9/tsr", b"x", timeout=1)


def test_site_fixture_unaffected(site: Site) -> None:
    assert site.ev.timestamper is None


class SettableClock:
    """The site's clock, which an attacker with the machine can set anywhere."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def test_entries_dated_backwards_are_reported(tmp_path: Path, mp4_library: list[Path]) -> None:
    clock = SettableClock()
    site = open_site(tmp_path / "data", clock=clock)
    seal_real_clip(site, "c0", 0, source=mp4_library[0])
    clock.offset = -timedelta(days=90)  # the clock set back months
    late = seal_real_clip(site, "c1", 1, source=mp4_library[1])
    report = verify_store(site.root, site.engine)
    assert [(f.kind, f.seq) for f in report.failures] == [("time_backwards", late.seq)]
    assert "before entry #1" in report.failures[0].message


def test_a_token_shows_an_entry_was_backdated(authority: TimestampAuthority, tmp_path: Path,
                                              mp4_library: list[Path]) -> None:
    """The clock set back after a checkpoint was timestamped: the independent token dates that
    checkpoint after an entry it does not contain, so the entry was backdated."""
    clock = SettableClock()
    site = open_site(tmp_path / "data", clock=clock, timestamp_authorities=[authority.url])
    seal_real_clip(site, "c0", 0, source=mp4_library[0])
    stamper = site.ev.timestamper
    assert stamper is not None
    wait_for(lambda: stamper.backlog() == {authority.url: 0})
    roots = load_roots(authority.ca_file)
    assert verify_store(site.root, site.engine, timestamp_roots=roots).timestamps == 1
    clock.offset = -timedelta(hours=1)
    authority.down = True  # no newer tokens
    late = site.ev.append(Action.VIEWED, actor="ms.garcia", clip_id="c0")
    report = verify_store(site.root, site.engine, timestamp_roots=roots)
    backdated = [f for f in report.failures if f.kind == "time_backwards"]
    assert {f.seq for f in backdated} == {late.seq}
    assert any("backdated" in f.message and "Test TSA" in f.message for f in backdated)


def test_a_forged_token_or_checkpoint_is_reported(authority: TimestampAuthority, tmp_path: Path,
                                                  mp4_library: list[Path]) -> None:
    site = open_site(tmp_path / "data", timestamp_authorities=[authority.url])
    seal_real_clip(site, "c0", 0, source=mp4_library[0])
    stamper = site.ev.timestamper
    assert stamper is not None
    wait_for(lambda: stamper.backlog() == {authority.url: 0})
    roots = load_roots(authority.ca_file)
    assert verify_store(site.root, site.engine, timestamp_roots=roots).ok
    [token] = (site.root / "timestamps").glob("*.tsr")
    [data] = (site.root / "timestamps").glob("*-*.json")
    data.write_bytes(data.read_bytes().replace(b'"size":1', b'"size":9'))
    assert verify_store(site.root, site.engine, timestamp_roots=roots).kinds() == {"bad_timestamp"}
    assert "not a checkpoint" in verify_store(site.root, site.engine, timestamp_roots=roots).failures[0].message
    assert verify_store(site.root, site.engine).warnings  # tokens present, no roots: said, not hidden
    assert token.exists()


def test_a_bundle_carries_the_tokens_and_every_verifier_checks_them(authority: TimestampAuthority, tmp_path: Path,
                                                                    mp4_library: list[Path], no_python_path: str) -> None:
    site = open_site(tmp_path / "data", timestamp_authorities=[authority.url])
    seal_real_clip(site, "c0", 0, source=mp4_library[0])
    (tmp_path / "court").mkdir()
    bundle = export_bundle(site.ev, "c0", tmp_path / "court" / "c0.zip", disclosure=disclose())
    roots = load_roots(authority.ca_file)
    report = verify_bundle(bundle, timestamp_roots=roots)
    assert len(report.timestamps) == 1 and "Test TSA" in report.timestamps[0]
    assert any("timestamp authority attests" in line for line in report.proves)
    unchecked = verify_bundle(bundle)
    assert unchecked.timestamps_unchecked == 1 and not any("authority" in line for line in unchecked.proves)
    assert any("the site's own clock" in line for line in unchecked.does_not_prove)
    rogue = make_authority(tmp_path / "rogue", name="Rogue TSA")
    with pytest.raises(TimestampError):
        verify_bundle(bundle, timestamp_roots=load_roots(rogue / "ca.crt"))
    done = subprocess.run([sys.executable, "-m", "evidence", "verify", str(bundle), "--trust", site.ev.keys.key_id,
                           "--tsa-ca", str(authority.ca_file)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "timestamped by CN=Test TSA" in done.stdout, done.stderr
    key = site.ev.entries()[0].key_id
    code, output, _ = run_verify_md(bundle, key, no_python_path, extra_env={"TSA_CA": str(authority.ca_file)})
    assert code == 0, output
    assert "OK: 1 timestamp token(s) verified" in output and "Time stamp:" in output
    for unpacked in bundle.parent.glob("*.check"):
        shutil.rmtree(unpacked)
    code, output, _ = run_verify_md(bundle, key, no_python_path, extra_env={"TSA_CA": str(rogue / "ca.crt")})
    assert code != 0 and "does not verify over checkpoint.json" in output


def test_an_export_while_the_authority_is_down_still_verifies(authority: TimestampAuthority, tmp_path: Path,
                                                              mp4_library: list[Path]) -> None:
    authority.down = True
    site = open_site(tmp_path / "data", timestamp_authorities=[authority.url], timestamp_timeout=1)
    seal_real_clip(site, "c0", 0, source=mp4_library[0])
    bundle = export_bundle(site.ev, "c0", tmp_path / "c0.zip", disclosure=disclose())
    report = verify_bundle(bundle, timestamp_roots=load_roots(authority.ca_file))
    assert report.timestamps == () and report.timestamps_unchecked == 0


def test_hotspot_verify_checks_tokens_against_the_configured_roots(authority: TimestampAuthority, tmp_path: Path,
                                                                  mp4_library: list[Path]) -> None:
    site = open_site(tmp_path / "data", timestamp_authorities=[authority.url])
    seal_real_clip(site, "c0", 0, source=mp4_library[0])
    stamper = site.ev.timestamper
    assert stamper is not None
    wait_for(lambda: stamper.backlog() == {authority.url: 0})
    evidence = {"timestamp_authorities": [authority.url], "timestamp_ca_file": str(authority.ca_file)}
    config = write_config(tmp_path, base_config(site.root, evidence=evidence))
    app = typer.Typer()
    evidence_cmds.register(app)
    result = CliRunner().invoke(app, ["verify", "--json", "--config", str(config)])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["timestamps"] >= 1, result.stdout
    [token] = (site.root / "timestamps").glob("*.tsr")
    token.write_bytes(token.read_bytes()[:-1] + bytes([token.read_bytes()[-1] ^ 1]))
    result = CliRunner().invoke(app, ["verify", "--json", "--config", str(config)])
    assert result.exit_code == 1 and [f["kind"] for f in json.loads(result.stdout)["failures"]] == ["bad_timestamp"]


def test_a_stray_marker_or_a_cleared_folder_does_not_stop_the_retries(authority: TimestampAuthority,
                                                                      tmp_path: Path) -> None:
    stamper = Timestamper(tmp_path / "timestamps", [authority.url])
    (tmp_path / "timestamps" / "pending" / "0000000009-00000000deadbeef").touch()
    assert stamper.run_once() == 0 and stamper.backlog() == {authority.url: 0}
    shutil.rmtree(tmp_path / "timestamps" / "pending")
    assert stamper.run_once() == 0
