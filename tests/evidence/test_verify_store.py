"""Whole-store verification names what failed and where."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evidence.actions import Action
from evidence.checkpoints import FILE_NAME
from evidence.errors import EvidenceError
from evidence.hashing import sha256_file
from evidence.store import EvidenceStore
from evidence.verify import StoreReport, verify_store
from tests.evidence import tampering
from tests.evidence.conftest import Site, open_site, seal_real_clip


def check(site: Site, witness: Path | None = None) -> StoreReport:
    return verify_store(site.root, site.engine, witness=witness)


def test_an_untouched_store_verifies_everything(site: Site) -> None:
    report = check(site)
    assert report.ok, report.failures
    assert report.entries == len(site.ev.entries())
    assert report.clips == 3 and report.checkpoints >= 3
    assert report.bytes_hashed == sum(site.clip_path(f"clip{i}").stat().st_size for i in range(3))
    assert json.loads(json.dumps(report.to_json()))["ok"] is True


def test_an_empty_store_verifies(tmp_path: Path) -> None:
    site = open_site(tmp_path)
    assert check(site).ok


def test_one_changed_byte_in_a_clip_is_named(site: Site) -> None:
    path = site.clip_path("clip1")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    [failure] = check(site).failures
    assert (failure.kind, failure.clip_id) == ("modified", "clip1")
    assert sha256_file(path) in failure.message


def test_a_clip_replaced_by_another_sealed_clip_is_named(site: Site) -> None:
    shutil.copyfile(site.clip_path("clip2"), site.clip_path("clip0"))
    [failure] = check(site).failures
    assert failure.kind == "modified" and failure.clip_id == "clip0"
    assert "bytes of clip clip2" in failure.message


def test_missing_is_told_from_deleted_by_retention(site: Site) -> None:
    site.clip_path("clip0").unlink()
    site.clip_path("clip1").unlink()
    site.ev.append(Action.DELETED_BY_RETENTION, actor="system", clip_id="clip1",
                   object_sha256=site.ev.sealed("clip1").object_sha256, details={"retention_days": 30})
    site.ev.write_checkpoint()
    [failure] = check(site).failures
    assert (failure.kind, failure.clip_id) == ("missing", "clip0")


def test_files_without_a_seal_are_found_and_pending_ones_only_warned(site: Site) -> None:
    folder = site.clip_path("clip0").parent
    shutil.copyfile(site.clip_path("clip0"), folder / "planted.mp4")
    shutil.copyfile(site.clip_path("clip0"), folder / "recording.mp4")
    (folder / "recording.json").write_text("{}")
    report = check(site)
    assert [(f.kind, f.clip_id) for f in report.failures] == [("unsealed", "planted")]
    assert len(report.warnings) == 1 and "recording.mp4" in report.warnings[0]


def test_a_deleted_entry_is_named(site: Site) -> None:
    tampering.delete(site.root, 4)
    failures = check(site).failures
    assert [(f.kind, f.seq) for f in failures] == [("deleted", 5)]


def test_a_truncated_log_is_caught_by_the_checkpoints(site: Site) -> None:
    total = len(site.ev.entries())
    tampering.truncate(site.root, total - 2)
    assert "truncated" in check(site).kinds()


def test_swapped_entries_are_named_as_reordered(site: Site) -> None:
    tampering.swap(site.root, 2, 3)
    failures = [f for f in check(site).failures if f.kind == "reordered"]
    assert {f.seq for f in failures} == {2, 3}
    assert "entry #3 is stored at position #2" in failures[0].message


def test_a_modified_field_is_named(site: Site) -> None:
    tampering.set_field(site.root, 5, "actor", "someone.else")
    assert [(f.kind, f.seq) for f in check(site).failures] == [("modified", 5)]


def test_reformatted_details_count_as_modified(site: Site) -> None:
    row = tampering.rows(site.root)[0]
    tampering.set_field(site.root, 1, "details", json.dumps(json.loads(row["details"]), indent=1))
    assert ("modified", 1) in [(f.kind, f.seq) for f in check(site).failures]


def test_forged_entries_are_named_by_signature_or_key(site: Site) -> None:
    last = tampering.rows(site.root)[-1]
    tampering.insert(site.root, tampering.forged_row(last, seq=last["seq"] + 1, own_key=False), at=last["seq"] + 1)
    assert [(f.kind, f.seq) for f in check(site).failures] == [("bad_signature", last["seq"] + 1)]
    tampering.delete(site.root, last["seq"] + 1)
    tampering.insert(site.root, tampering.forged_row(last, seq=last["seq"] + 1, own_key=True), at=last["seq"] + 1)
    assert [(f.kind, f.seq) for f in check(site).failures] == [("unknown_key", last["seq"] + 1)]


def test_an_entry_inserted_in_the_middle_is_detected(site: Site) -> None:
    before = tampering.rows(site.root)[2]
    tampering.insert(site.root, tampering.forged_row(before, seq=4, own_key=False), at=4)
    kinds = check(site).kinds()
    assert "bad_signature" in kinds and "reordered" in kinds


def test_a_key_holder_rewriting_history_is_caught_by_the_checkpoints(site: Site, tmp_path: Path) -> None:
    """An insider with the key rebuilds the log without one entry; the signed checkpoints remember."""
    originals = site.ev.entries()
    insider = tmp_path / "insider"
    shutil.copytree(site.root / "keys", insider / "keys")
    tampering.truncate(site.root, 0)
    forged = EvidenceStore.open(insider, site.engine)
    for entry in originals:
        if entry.seq != 2:
            forged.append(entry.action, actor=entry.actor, clip_id=entry.clip_id,
                          object_sha256=entry.object_sha256, details=entry.details)
    # The log alone looks nearly consistent: only the replayed rotation, signed by the key it
    # introduced, does not link.
    assert verify_store(insider, site.engine).kinds() == {"missing", "unlinked_key"}
    assert {"rewritten", "truncated"} & check(site).kinds()


def test_the_witness_keeps_checkpoints_the_local_file_lost(tmp_path: Path, mp4_library: list[Path]) -> None:
    witness = tmp_path / "witness"
    site = open_site(tmp_path / "data", checkpoint_every=2, witness=witness)
    for index in range(4):
        seal_real_clip(site, f"c{index}", index, source=mp4_library[index])
    (site.root / FILE_NAME).unlink()
    tampering.truncate(site.root, 2)
    assert check(site).kinds() == {"unanchored", "unsealed"}
    assert "truncated" in check(site, witness).kinds()


def test_a_checkpoint_line_that_was_edited_is_named(site: Site) -> None:
    path = site.root / FILE_NAME
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["checkpoint"]["size"] += 1
    path.write_text("\n".join([json.dumps(record), *lines[1:], "not json"]) + "\n")
    kinds = [f.kind for f in check(site).failures]
    assert kinds.count("bad_signature") == 1 and kinds.count("bad_checkpoint") == 1


def test_verification_needs_no_private_key(site: Site) -> None:
    (site.root / "keys" / "signing.pem").unlink()
    assert check(site).ok


def test_reading_an_altered_row_raises_a_clear_error(site: Site) -> None:
    tampering.set_field(site.root, 2, "action", "teleported")
    with pytest.raises(EvidenceError, match="entry #2 is unreadable"):
        site.ev.entries()
    assert ("modified", 2) in [(f.kind, f.seq) for f in check(site).failures]
