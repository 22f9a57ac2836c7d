"""Export a case: every clip, the incident report and their custody, as one signed bundle.

The bundle extends the single-clip format (FORMAT.md): several ``clip/`` members, one
``report/`` PDF, and a manifest of type ``hotspot-case-bundle``. The export is one custody entry
(``case_exported``) that names the last entry of each clip's chain and the report's SHA-256, so
no clip's history can be cut short in the bundle, and a checkpoint ends exactly at it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from evidence.actions import Action
from evidence.bundle_format import (
    CASE_BUNDLE_TYPE,
    CHECKPOINT,
    CHECKPOINT_SIG,
    MANIFEST,
    MANIFEST_SIG,
    README,
    REPORT_DIR,
    SUMS,
    SUMS_SIG,
    VERSION,
    entry_file,
    key_file,
    rotation_file,
    signature_file,
)
from evidence.canonical import canonical_json
from evidence.certificate import one_line
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError, IntegrityError
from evidence.export import Disclosure, _clip_source, _copy_verified, _items, _shell_word, software
from evidence.hashing import sha256_bytes, sha256_file
from evidence.store import EvidenceStore

CASE_README = "VERIFY_CASE.md"


@dataclass(frozen=True)
class CaseRef:
    """What the bundle says about the case; ``case_id`` ties it to the case's custody entries."""

    case_id: str
    number: str
    title: str


def export_case_bundle(ev: EvidenceStore, out: Path, *, case: CaseRef, clip_ids: Sequence[str], report: Path,
                       report_entry: CustodyRecord, disclosure: Disclosure) -> Path:
    """Write the bundle to ``out`` (never overwriting) and log the disclosure."""
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
                members[clip_id] = f"clip/{clip_id}{_clip_source(ev, seal).suffix or '.bin'}"
                _copy_verified(bundle, _clip_source(ev, seal), members[clip_id], seal)
            report_member = f"{REPORT_DIR}report-{_file_word(case.number)}.pdf"
            bundle.write(report, report_member)
            heads = {clip_id: ev.entries(clip_id)[-1] for clip_id in clip_ids}
            record = ev.append(Action.CASE_EXPORTED, actor=disclosure.by, object_sha256=report_sha256, details={
                **asdict(disclosure), "case_id": case.case_id, "file": out.name, "report_sha256": report_sha256,
                "clips": {clip_id: head.entry_hash for clip_id, head in heads.items()},
            })
            checkpoint = ev.checkpoint_at(record)
            entries = _entries(ev, case, heads, record)
            rotations = ev.rotations(before=record.seq)
            key_ids = ([rotations[0].details["old_key_id"], *(r.details["new_key_id"] for r in rotations)]
                       if rotations else [checkpoint.key_id])
            text = case_readme(case=case, clip_count=len(clip_ids), signed_by=checkpoint.key_id, bundle_name=out.name)
            manifest = {
                "type": CASE_BUNDLE_TYPE, "v": VERSION,
                "case": {"id": case.case_id, "number": case.number, "title": case.title},
                "clips": [_clip_json(seals[c], members[c]) for c in clip_ids],
                "report": {"file": report_member, "sha256": report_sha256, "size": report.stat().st_size,
                           "seq": report_entry.seq},
                "readme": {"file": README, "sha256": sha256_bytes(text.encode("utf-8"))},
                "export": {**{k: record.details[k] for k in ("case", "case_id", "reason", "by", "recipient",
                                                               "interest")},
                           "time": record.time_text, "seq": record.seq},
                "custody": _items(entries, entry_file),
                "rotations": _items(rotations, rotation_file),
                "checkpoint": {"file": CHECKPOINT, **checkpoint.to_json()},
                "keys": {kid: key_file(kid) for kid in key_ids},
                "signed_by": checkpoint.key_id,
                "software": software(),
            }
            texts: dict[str, bytes] = {MANIFEST: canonical_json(manifest)}
            signatures: dict[str, bytes] = {MANIFEST_SIG: ev.keys.sign(texts[MANIFEST])}
            for records, file_name in ((entries, entry_file), (rotations, rotation_file)):
                for entry in records:
                    texts[file_name(entry.seq)] = entry.signed_bytes()
                    signatures[signature_file(file_name(entry.seq))] = entry.signature_bytes()
            texts[CHECKPOINT] = checkpoint.signed_bytes()
            signatures[CHECKPOINT_SIG] = checkpoint.signature_bytes()
            for kid in key_ids:
                texts[key_file(kid)] = ev.keys.public_pem(kid)
            first = [(seals[c].object_sha256 or "", members[c]) for c in clip_ids] + [(report_sha256, report_member)]
            sums = "".join(f"{digest}  {name}\n" for digest, name in
                           first + [(sha256_bytes(data), name) for name, data in sorted(texts.items())])
            for name, data in {**texts, **signatures, SUMS: sums.encode("ascii"),
                               SUMS_SIG: ev.keys.sign(sums.encode("ascii"))}.items():
                bundle.writestr(name, data)
            bundle.writestr(README, text)
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


def case_readme(*, case: CaseRef, clip_count: int, signed_by: str, bundle_name: str) -> str:
    template = Template(files("evidence").joinpath(CASE_README).read_text(encoding="utf-8"))
    return template.substitute(case=one_line(case.number), title=one_line(case.title), clip_count=clip_count,
                               signed_by=signed_by, bundle_name=_shell_word(bundle_name))


def _file_word(text: str) -> str:
    word = "".join(c if c.isalnum() or c in "._-" else "-" for c in text).strip("-.")
    return word[:60] or "case"
