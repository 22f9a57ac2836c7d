"""Verify a case bundle offline: several clips, their report, one export. Same tools as a clip bundle.

The steps are those of a clip bundle (``evidence.bundle``), in the order of the bundle's VERIFY.md;
steps 2-3, the signed list and steps 7-9 (checkpoint, inclusion proofs, timestamp tokens) are its
very functions. Steps 4 and 6 are widened to many clips: every clip hashes to its seal and its
whole chain is present up to the entry the signed export pins; the report hashes to what the
signed ``report_made`` entry recorded; VERIFY.md itself is the text the manifest hashed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

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
    anchor,
    check_listed,
    check_rotation_list,
    check_sums,
    claims_not_proved,
    claims_proved,
    open_signed,
    stamp_lines,
)
from evidence.bundle_format import CASE_BUNDLE_TYPE, MANIFEST, README, REPORT_DIR
from evidence.errors import BundleFormatError, ChainError, IntegrityError, VerificationError
from evidence.hashing import sha256_bytes

PROVES = (
    ("each clip is bit for bit the file the site sealed when it was recorded (same SHA-256 as its signed "
     "seal), and its seal and every later custody entry up to this export are intact, in one unbroken chain"),
    "the report is the file whose SHA-256 the site logged when it was made, and the case's entries are intact",
    PINNED_ONLY,
    ("the site's custody log held these entries when the case was exported (a signed checkpoint ends at "
     "the export entry), at the positions of its Merkle tree that the inclusion proofs show"),
)
NARRATIVE = "that the report's narrative is true: it is what the investigator wrote"


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
    merkle_root: str | None = None  # the checkpoint's tree root each entry was proven to be under
    timestamps: tuple[str, ...] = ()  # "<authority> at <time>" for each token that verified
    timestamps_unchecked: int = 0  # tokens carried but not checked: no authority root was given

    @property
    def proves(self) -> tuple[str, ...]:
        return claims_proved(PROVES, pinned=self.pinned, stamped=bool(self.timestamps))

    @property
    def does_not_prove(self) -> tuple[str, ...]:
        return (*claims_not_proved(DOES_NOT_PROVE, pinned=self.pinned, stamped=bool(self.timestamps)), NARRATIVE)

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
        return "\n".join(lines + stamp_lines(self.timestamps, self.timestamps_unchecked))


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


def claimed_members(path: Path) -> dict[str, Any] | None:
    """For a case bundle that failed: the case number its (unverified) manifest claims and, for
    each clip and the report, whether the member hashes to the SHA-256 listed there. Nothing
    here is verified; it only says which member differs. None when even that cannot be read."""
    try:
        with SafeArchive(Path(path)) as archive:
            manifest = _checked_dict(archive.read_json(MANIFEST), MANIFEST)
            case = _field(manifest, "case", dict, MANIFEST)
            listed = [("clip", _checked_dict(c, "manifest clip")) for c in _field(manifest, "clips", list, MANIFEST)]
            listed.append(("report", _field(manifest, "report", dict, MANIFEST)))
            return {"case": str(case.get("number")), "members": [
                {"kind": kind, "id": str(item.get("id", "report")), "file": str(item.get("file")),
                 "matches": _matches(archive, item)} for kind, item in listed]}
    except VerificationError:
        return None


def _matches(archive: SafeArchive, item: dict[str, Any]) -> bool:
    try:
        return archive.sha256(str(item.get("file"))) == (item.get("sha256"), item.get("size"))
    except VerificationError:
        return False


def verify_case_bundle(path: Path, *, trusted_keys: Collection[str] | None = None,
                       timestamp_roots: Sequence[x509.Certificate] | None = None) -> CaseBundleReport:
    """As ``evidence.bundle.verify_bundle``, for a case bundle: the first failure raises."""
    with SafeArchive(Path(path)) as archive:
        signed = open_signed(archive, trusted_keys, CASE_BUNDLE_TYPE)
        manifest = signed.manifest
        clips, report = step4_members(archive, manifest)
        step4_readme(archive, manifest)
        check_rotation_list(archive, manifest)
        entries = signed.step5_entries(archive)
        counts = step6_chains(entries, manifest, clips, report)
        anchored = anchor(archive, signed, entries, timestamp_roots)
    export, case = manifest["export"], _field(manifest, "case", dict, MANIFEST)
    report_entry = next(e for e in entries if e["seq"] == report["seq"])
    return CaseBundleReport(
        case=export["case"], case_id=export["case_id"], title=str(case.get("title", "")),
        clips=tuple(CaseClipResult(c["id"], c["sha256"], c["size"], c["sealed_at"], counts[c["id"]]) for c in clips),
        report_sha256=report["sha256"], report_made_at=report_entry["time"], reason=export["reason"],
        recipient=export["recipient"], interest=export["interest"], exported_by=export["by"],
        exported_at=export["time"], entries=len(entries), signed_by=signed.chain.current, key_ids=signed.chain.keys,
        checkpoint_size=anchored.checkpoint.size, software=signed.software, pinned=signed.pinned,
        anchor=signed.anchor, merkle_root=anchored.checkpoint.root, timestamps=anchored.timestamps,
        timestamps_unchecked=anchored.unchecked,
    )


def step4_members(archive: SafeArchive, manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every member hashes to the signed SHA256SUMS, which lists the clips and the report first;
    each clip and the report hash to what the manifest (and, in step 6, the custody entries) say;
    the bundle holds no clip or report the manifest does not list."""
    clips = [_checked_dict(c, "manifest clip") for c in _field(manifest, "clips", list, MANIFEST)]
    if not clips:
        raise BundleFormatError(f"{MANIFEST}: a case bundle lists no clips")
    names = [_field(c, "file", str, "manifest clip") for c in clips]
    ids = [_field(c, "id", str, "manifest clip") for c in clips]
    present = sorted(n for n in archive.names if n.startswith("clip/"))
    if sorted(names) != present or len(set(names)) != len(names) or len(set(ids)) != len(ids):
        raise BundleFormatError(f"bundle clips {present} do not match the manifest's {sorted(names)}")
    report = _field(manifest, "report", dict, MANIFEST)
    report_name = _field(report, "file", str, "manifest report")
    reports = [n for n in archive.names if n.startswith(REPORT_DIR)]
    if reports != [report_name]:
        raise BundleFormatError(f"bundle must hold exactly the report {report_name}; found {reports}")
    _field(report, "seq", int, "manifest report")
    hashed = check_sums(archive, manifest, [*names, report_name])
    for clip, name in zip(clips, names, strict=True):
        check_listed(name, hashed[name], clip, "manifest clip")
    check_listed(report_name, hashed[report_name], report, "manifest report")
    return clips, report


def step4_readme(archive: SafeArchive, manifest: dict[str, Any]) -> None:
    """VERIFY.md is the text the signed manifest hashed, so its commands cannot be swapped."""
    listed = _field(manifest, "readme", dict, MANIFEST)
    digest = sha256_bytes(archive.read(README))
    if listed.get("file") != README or digest != listed.get("sha256"):
        raise IntegrityError(f"{README}: hashes to {digest}, manifest says {listed.get('sha256')}")


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
