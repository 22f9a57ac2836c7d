"""Export a case: every clip, the incident report and their custody, as one signed bundle.

The bundle extends the single-clip format (FORMAT.md): several ``clip/`` members, one
``report/`` PDF, and a manifest of type ``hotspot-case-bundle``. The export is one custody entry
(``case_exported``) that names the last entry of each clip's chain and the report's SHA-256, so
no clip's history can be cut short in the bundle, and a checkpoint ends exactly at it. As in a
clip bundle, each entry comes with its inclusion proof in that checkpoint, the timestamp
authorities' tokens over it are fetched at export, and a draft certificate covers every clip
and the report.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from evidence.actions import Action
from evidence.bundle_format import CASE_BUNDLE_TYPE, README, REPORT_DIR, VERSION
from evidence.certificate import case_certificate_text, one_line
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError, IntegrityError
from evidence.export import (
    Custody,
    Disclosure,
    _clip_source,
    _copy_verified,
    fill_guide,
    software,
    write_signed,
)
from evidence.hashing import sha256_bytes, sha256_file
from evidence.store import EvidenceStore
from evidence.verify_clips import ObjectReader

CASE_README = "VERIFY_CASE.md"
CLIP_README = "VERIFY.md"


@dataclass(frozen=True)
class CaseRef:
    """What the bundle says about the case; ``case_id`` ties it to the case's custody entries."""

    case_id: str
    number: str
    title: str


def export_case_bundle(ev: EvidenceStore, out: Path, *, case: CaseRef, clip_ids: Sequence[str], report: Path,
                       report_entry: CustodyRecord, disclosure: Disclosure, objects: ObjectReader | None = None) -> Path:
    """Write the bundle to ``out`` (never overwriting) and log the disclosure; ``objects`` streams
    a clip whose local copy went after upload from the object store (checked against its seal)."""
    disclosure = disclosure.checked(f"case {case.number}")
    out = Path(out)
    if any(c == "`" or not c.isprintable() for c in out.name):
        raise EvidenceError(f"bundle file name {out.name!r} must be printable, without backticks (VERIFY.md quotes it)")
    if out.exists():
        raise EvidenceError(f"{out} already exists; choose another file name")
    if not clip_ids:
        raise EvidenceError(f"case {case.number} has no clips to export")
    report_sha256 = sha256_file(report)
    if (report_entry.action != Action.REPORT_MADE or report_entry.object_sha256 != report_sha256
            or report_entry.details.get("case_id") != case.case_id):
        raise IntegrityError(f"{report.name}: hashes to {report_sha256}, which report entry #{report_entry.seq} "
                             "of this case does not record")
    seals = {clip_id: ev.sealed(clip_id) for clip_id in clip_ids}
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as bundle:
            members: dict[str, str] = {}
            for clip_id, seal in seals.items():
                source = _clip_source(ev, seal, objects)
                members[clip_id] = f"clip/{clip_id}{source.suffix or '.bin'}"
                _copy_verified(bundle, source, members[clip_id], seal)
            report_member = f"{REPORT_DIR}report-{_file_word(case.number)}.pdf"
            bundle.write(report, report_member)
            heads = {clip_id: ev.entries(clip_id)[-1] for clip_id in clip_ids}
            record = ev.append(Action.CASE_EXPORTED, actor=disclosure.by, object_sha256=report_sha256, details={
                **asdict(disclosure), "case_id": case.case_id, "file": out.name, "report_sha256": report_sha256,
                "clips": {clip_id: head.entry_hash for clip_id, head in heads.items()},
            })
            custody = Custody.at(ev, record, _entries(ev, case, heads, record))
            certificate = case_certificate_text(
                clips=[(seals[c], members[c]) for c in clip_ids], report=(report_entry, report_member), export=record,
                entries=custody.entries, signed_by=custody.signed_by, software=software()).encode("utf-8")
            guide = case_readme(case=case, clip_count=len(clip_ids), bundle_name=out.name)
            manifest = {
                "type": CASE_BUNDLE_TYPE, "v": VERSION,
                "case": {"id": case.case_id, "number": case.number, "title": case.title},
                "clips": [_clip_json(seals[c], members[c]) for c in clip_ids],
                "report": {"file": report_member, "sha256": report_sha256, "size": report.stat().st_size,
                           "seq": report_entry.seq},
                "readme": {"file": README, "sha256": sha256_bytes(guide.encode("utf-8"))},
                "export": {**{k: record.details[k] for k in ("case", "case_id", "reason", "by", "recipient",
                                                               "interest")},
                           "time": record.time_text, "seq": record.seq},
                **custody.manifest(certificate),
            }
            first = [(seals[c].object_sha256 or "", members[c]) for c in clip_ids] + [(report_sha256, report_member)]
            write_signed(bundle, ev, custody, manifest, certificate=certificate, first=first, guide=guide)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _entries(ev: EvidenceStore, case: CaseRef, heads: Mapping[str, CustodyRecord],
             export: CustodyRecord) -> list[CustodyRecord]:
    """Each clip's whole chain up to its pinned head, and the case's own entries up to the export."""
    chosen: dict[int, CustodyRecord] = {}
    for clip_id, head in heads.items():
        chosen.update((e.seq, e) for e in ev.entries(clip_id) if e.seq <= head.seq)
    chosen.update((e.seq, e) for e in ev.entries() if e.clip_id is None and e.seq <= export.seq
                  and e.details.get("case_id") == case.case_id)
    return [chosen[seq] for seq in sorted(chosen)]


def _clip_json(seal: CustodyRecord, member: str) -> dict[str, Any]:
    return {"id": seal.clip_id, "file": member, "sha256": seal.object_sha256, "size": seal.details.get("size"),
            "sealed_seq": seal.seq, "sealed_at": seal.time_text, "sealed_as": seal.action.value,
            "metadata": seal.details.get("metadata", {}),
            "incomplete": seal.details.get("incomplete")}


def case_readme(*, case: CaseRef, clip_count: int, bundle_name: str) -> str:
    """VERIFY.md of a case bundle: its own steps 4 and 6, and the clip bundle's others word for word
    (``{{step N}}`` in the template), since they check the same members the same way."""
    steps = {number: text for text, number in
             re.findall(r"^(## Step (\d+)\..*?)(?=^## |^<!--)", _template(CLIP_README), flags=re.MULTILINE | re.DOTALL)}
    text = re.sub(r"^\{\{step (\d+)\}\}\n", lambda m: steps[m.group(1)], _template(CASE_README), flags=re.MULTILINE)
    return fill_guide(text, clip_id="", case=case.number, bundle_name=bundle_name,
                      names=(("clip_count", str(clip_count)), ("title", one_line(case.title))))


def _template(name: str) -> str:
    return files("evidence").joinpath(name).read_text(encoding="utf-8")


def _file_word(text: str) -> str:
    word = "".join(c if c.isalnum() or c in "._-" else "-" for c in text).strip("-.")
    return word[:60] or "case"
