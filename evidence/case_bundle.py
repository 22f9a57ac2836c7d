"""Verify a case bundle offline: several clips, their report, one export. Same tools as a clip bundle.

The steps are those of a clip bundle (``evidence.bundle``), in the order of the bundle's VERIFY.md,
widened to many clips: every clip hashes to its seal and its whole chain is present up to the
entry the signed export pins; the report hashes to what the signed ``report_made`` entry recorded;
VERIFY.md itself is the text the manifest hashed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evidence.actions import SEAL_ACTIONS, Action
from evidence.archive import SafeArchive
from evidence.bundle import (
    DOES_NOT_PROVE,
    PINNED_ONLY,
    _canonical,
    _check_seal,
    _checked_dict,
    _details,
    _field,
    _parse_sums,
    check_rotation_list,
    step2_keys,
    step2_rotations,
    step3_signatures,
    step5_entries,
    step7_checkpoint,
)
from evidence.bundle_format import CASE_BUNDLE_TYPE, MANIFEST, README, REPORT_DIR, SUMS
from evidence.errors import BundleFormatError, ChainError, IntegrityError, TrustError
from evidence.hashing import sha256_bytes

PROVES = (
    ("each clip is bit for bit the file the site sealed when it was recorded (same SHA-256 as its signed "
     "seal), and its seal and every later custody entry up to this export are intact, in one unbroken chain"),
    "the report is the file whose SHA-256 the site logged when it was made, and the case's entries are intact",
    PINNED_ONLY,
    ("the site's custody log held these entries when the case was exported (a signed checkpoint ends at "
     "the export entry)"),
)


@dataclass(frozen=True)
class CaseClipResult:
    clip_id: str
    sha256: str
    size: int
    sealed_at: str
    entries: int


@dataclass(frozen=True)
class CaseBundleReport:
    """What a verified case bundle proves: these clips, this report, disclosed by this entry."""

    case: str
    case_id: str
    title: str
    clips: tuple[CaseClipResult, ...]
    report_sha256: str
    report_made_at: str
    reason: str
    recipient: str
    interest: str
    exported_by: str
    exported_at: str
    entries: int
    signed_by: str
    key_ids: tuple[str, ...]
    checkpoint_size: int
    software: str
    pinned: bool
    anchor: str | None

    @property
    def proves(self) -> tuple[str, ...]:
        return PROVES if self.pinned else tuple(p for p in PROVES if p != PINNED_ONLY)

    @property
    def does_not_prove(self) -> tuple[str, ...]:
        return DOES_NOT_PROVE[1:] if self.pinned else DOES_NOT_PROVE

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": CASE_BUNDLE_TYPE, "ok": True, "trust": "pinned" if self.pinned else "UNPINNED",
                "proves": list(self.proves), "does_not_prove": list(self.does_not_prove)}

    def summary(self) -> str:
        """What was verified, in a few lines a person reads."""
        lines = [(f"case bundle: case {self.case} ({self.title}): {len(self.clips)} clip(s), report sha256 "
                  f"{self.report_sha256} made {self.report_made_at}; {self.entries} custody entries")]
        lines += [f"  clip {c.clip_id} sha256 {c.sha256} ({c.size} bytes), sealed {c.sealed_at}, {c.entries} entries"
                  for c in self.clips]
        lines.append(f"exported {self.exported_at} by {self.exported_by} to {self.recipient} "
                     f"(interest: {self.interest}; reason: {self.reason}); made by {self.software}")
        return "\n".join(lines)


def bundle_kind(path: Path) -> str | None:
    """The manifest's ``type``, read without verifying anything (to pick the verifier)."""
    try:
        with SafeArchive(Path(path)) as archive:
            if MANIFEST not in archive.names:
                return None
            manifest = archive.read_json(MANIFEST)
    except BundleFormatError:
        return None
    kind = manifest.get("type") if isinstance(manifest, dict) else None
    return kind if isinstance(kind, str) else None


def verify_case_bundle(path: Path, *, trusted_keys: Collection[str] | None = None) -> CaseBundleReport:
    """Run every step; the first failure raises. ``trusted_keys`` pins the site's fingerprints:
    with them a bundle whose keys do not descend from one of them raises TrustError."""
    if trusted_keys is not None and not trusted_keys:
        raise TrustError("no trusted fingerprint given: pass None to verify unpinned")
    with SafeArchive(Path(path)) as archive:
        keys = step2_keys(archive)
        chain = step2_rotations(archive, keys)
        trusted = chain.keys if trusted_keys is None else chain.trusted_from(set(trusted_keys))
        manifest = step3_signatures(archive, keys, chain, CASE_BUNDLE_TYPE)
        clips = step4_clips(archive, manifest)
        report = step4_report(archive, manifest)
        step4_readme(archive, manifest)
        step4_sums(archive, clips, report)
        check_rotation_list(archive, manifest)
        entries = step5_entries(archive, manifest, keys, chain, trusted)
        counts = step6_chains(entries, manifest, clips, report)
        checkpoint = step7_checkpoint(archive, manifest, keys, entries[-1], chain, trusted)
    export, case = manifest["export"], _field(manifest, "case", dict, MANIFEST)
    report_entry = next(e for e in entries if e["seq"] == report["seq"])
    software: dict[str, Any] = manifest["software"] if isinstance(manifest.get("software"), dict) else {}
    return CaseBundleReport(
        case=export["case"], case_id=export["case_id"], title=str(case.get("title", "")),
        clips=tuple(CaseClipResult(c["id"], c["sha256"], c["size"], c["sealed_at"], counts[c["id"]]) for c in clips),
        report_sha256=report["sha256"], report_made_at=report_entry["time"], reason=export["reason"],
        recipient=export["recipient"], interest=export["interest"], exported_by=export["by"],
        exported_at=export["time"], entries=len(entries), signed_by=chain.current, key_ids=chain.keys,
        checkpoint_size=checkpoint.size, software=f"{software.get('name', '?')} {software.get('version', '?')}",
        pinned=trusted_keys is not None, anchor=None if trusted_keys is None else trusted[0],
    )


def step4_clips(archive: SafeArchive, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every clip's bytes hash to what the manifest (and, in step 6, its seal) says; no extra clips."""
    clips = [_checked_dict(c, "manifest clip") for c in _field(manifest, "clips", list, MANIFEST)]
    if not clips:
        raise BundleFormatError(f"{MANIFEST}: a case bundle lists no clips")
    names = [_field(c, "file", str, "manifest clip") for c in clips]
    ids = [_field(c, "id", str, "manifest clip") for c in clips]
    present = sorted(n for n in archive.names if n.startswith("clip/"))
    if sorted(names) != present or len(set(names)) != len(names) or len(set(ids)) != len(ids):
        raise BundleFormatError(f"bundle clips {present} do not match the manifest's {sorted(names)}")
    for clip, name in zip(clips, names, strict=True):
        digest, size = archive.sha256(name)
        if digest != _field(clip, "sha256", str, "manifest clip") or size != _field(clip, "size", int, "manifest clip"):
            raise IntegrityError(f"{name}: hashes to {digest} ({size} bytes), manifest says "
                                 f"{clip['sha256']} ({clip['size']} bytes)")
    return clips


def step4_report(archive: SafeArchive, manifest: dict[str, Any]) -> dict[str, Any]:
    """The report PDF hashes to what the manifest says (step 6 ties that to the report entry)."""
    report = _field(manifest, "report", dict, MANIFEST)
    name = _field(report, "file", str, "manifest report")
    present = [n for n in archive.names if n.startswith(REPORT_DIR)]
    if present != [name]:
        raise BundleFormatError(f"bundle must hold exactly the report {name}; found {present}")
    digest, size = archive.sha256(name)
    if digest != _field(report, "sha256", str, "manifest report") or size != _field(report, "size", int, "manifest report"):
        raise IntegrityError(f"{name}: hashes to {digest} ({size} bytes), manifest says "
                             f"{report['sha256']} ({report['size']} bytes)")
    _field(report, "seq", int, "manifest report")
    return report


def step4_readme(archive: SafeArchive, manifest: dict[str, Any]) -> None:
    """VERIFY.md is the text the signed manifest hashed, so its commands cannot be swapped."""
    listed = _field(manifest, "readme", dict, MANIFEST)
    digest = sha256_bytes(archive.read(README))
    if listed.get("file") != README or digest != listed.get("sha256"):
        raise IntegrityError(f"{README}: hashes to {digest}, manifest says {listed.get('sha256')}")


def step4_sums(archive: SafeArchive, clips: list[dict[str, Any]], report: dict[str, Any]) -> None:
    """The signed SHA256SUMS lists the clips and the report first, then every other checked member
    once, and each hashes to it (what `sha256sum -c SHA256SUMS` checks by hand)."""
    listed = _parse_sums(archive.read(SUMS))
    first = [(c["file"], c["sha256"]) for c in clips] + [(report["file"], report["sha256"])]
    expected = {n for n in archive.names if not n.endswith(".sig") and n not in (SUMS, README)}
    if listed[:len(first)] != first or {n for n, _ in listed} != expected or len(listed) != len(expected):
        raise BundleFormatError(f"{SUMS}: must list the clips and the report first and then every other member "
                                f"once (lists {sorted(n for n, _ in listed)}, bundle holds {sorted(expected)})")
    for member, wanted in listed[len(first):]:
        digest = sha256_bytes(archive.read(member))
        if digest != wanted:
            raise IntegrityError(f"{member}: hashes to {digest}, {SUMS} says {wanted}")


def step6_chains(entries: list[dict[str, Any]], manifest: dict[str, Any], clips: list[dict[str, Any]],
                 report: dict[str, Any]) -> dict[str, int]:
    """Each clip's chain is whole, from its first entry to the one the export pins; every other
    entry is the case's own; the report entry records the report; the last entry is this export."""
    export = _field(manifest, "export", dict, MANIFEST)
    case_id = _field(export, "case_id", str, "manifest export")
    last = entries[-1]
    details = _details(last)
    wanted = {k: export.get(k) for k in ("case", "case_id", "reason", "recipient", "interest", "by")}
    if (last.get("action") != Action.CASE_EXPORTED.value or last["seq"] != export.get("seq")
            or any(details.get(k) != v for k, v in wanted.items()) or last.get("time") != export.get("time")
            or last.get("clip_id") is not None):
        raise ChainError(f"custody entry #{last['seq']}: the last entry is not this bundle's export")
    pinned = details.get("clips")
    by_id = {c["id"]: c for c in clips}
    if not isinstance(pinned, dict) or set(pinned) != set(by_id):
        raise ChainError(f"custody entry #{last['seq']}: the export names clips {sorted(pinned or {})}, "
                         f"the bundle holds {sorted(by_id)}")
    seqs = [e["seq"] for e in entries]
    if seqs != sorted(set(seqs)):
        raise ChainError(f"{MANIFEST}: custody entries are not in log order")
    chains: dict[str, list[dict[str, Any]]] = {clip_id: [] for clip_id in by_id}
    for entry in entries:
        clip_id = entry.get("clip_id")
        if clip_id is None:
            if _details(entry).get("case_id") != case_id:
                raise ChainError(f"custody entry #{entry.get('seq')}: belongs to no clip of the bundle "
                                 f"and not to case {case_id}")
        elif clip_id in chains:
            chains[clip_id].append(entry)
        else:
            raise ChainError(f"custody entry #{entry.get('seq')}: belongs to clip {clip_id!r}, not in this bundle")
    for clip_id, chain in chains.items():
        _check_chain(clip_id, chain, by_id[clip_id], pinned[clip_id])
    made = next((e for e in entries if e["seq"] == report["seq"]), None)
    if (made is None or made.get("action") != Action.REPORT_MADE.value or made.get("object_sha256") != report["sha256"]
            or _details(made).get("case_id") != case_id or details.get("report_sha256") != report["sha256"]):
        raise ChainError(f"custody entry #{report['seq']}: is not the report_made entry of report {report['sha256']}")
    return {clip_id: len(chain) for clip_id, chain in chains.items()}


def _check_chain(clip_id: str, chain: list[dict[str, Any]], clip: dict[str, Any], head: Any) -> None:
    previous: str | None = None
    for entry in chain:
        if entry.get("prev_clip_hash") != previous:
            raise ChainError(f"custody entry #{entry.get('seq')}: not linked to clip {clip_id}'s previous entry "
                             f"(expected {previous})")
        previous = sha256_bytes(_canonical(entry, f"custody entry #{entry.get('seq')}"))
    if previous != head:
        raise ChainError(f"clip {clip_id}: its chain ends at {previous}, the export pins {head} (entries missing)")
    seals = [e for e in chain if e.get("action") in SEAL_ACTIONS]
    if len(seals) != 1:
        raise ChainError(f"clip {clip_id}: {len(seals)} seal entries, expected exactly one")
    _check_seal(seals[0], clip)
