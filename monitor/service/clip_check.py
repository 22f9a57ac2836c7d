"""The clip page's verification: is this file what was sealed, and does its custody chain hold?

Whole-store verification (``hotspot verify``) re-hashes every clip; an investigator looking at
one clip needs the answer for that clip in a second. Steps, in order:
1. every custody entry of the clip hashes to its recorded entry hash;
2. its Ed25519 signature verifies with a key of the site's keyring;
3. each entry links to the previous entry of the same clip, starting from the seal;
4. the file on disk hashes to the SHA-256 in the seal (and in the clip's row).
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.actions import SEAL_ACTIONS
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError
from evidence.hashing import sha256_bytes, sha256_file
from evidence.keys import PublicKeyring
from monitor.site.runtime import Runtime
from monitor.store.models import Clip


@dataclass(frozen=True)
class ClipCheck:
    clip_id: str
    status: str  # intact | modified | missing | unsealed | broken-chain
    sealed_sha256: str | None
    actual_sha256: str | None
    entries: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status == "intact"


def _entry_problems(entries: list[CustodyRecord], keys: PublicKeyring) -> list[str]:
    problems: list[str] = []
    previous: str | None = None
    for entry in entries:
        where = f"custody entry {entry.seq} ({entry.action.value})"
        signed = entry.signed_bytes()
        if sha256_bytes(signed) != entry.entry_hash:
            problems.append(f"{where}: contents do not match its entry hash (modified)")
        try:
            keys.verify(entry.key_id, signed, entry.signature_bytes(), what=where)
        except EvidenceError as exc:
            problems.append(str(exc))
        if entry.prev_clip_hash != previous:
            problems.append(f"{where}: does not link to the clip's previous entry (inserted, deleted or reordered)")
        previous = entry.entry_hash
    return problems


def _file_sha256(runtime: Runtime, clip: Clip) -> str | None:
    try:
        path = runtime.paths.absolute(clip.path)
    except ValueError:
        return None
    return sha256_file(path) if path.is_file() else None


def check_clip(runtime: Runtime, clip: Clip) -> ClipCheck:
    entries = runtime.evidence.entries(clip_id=clip.id)
    seal = entries[0] if entries and entries[0].action in SEAL_ACTIONS else None
    problems = _entry_problems(entries, runtime.evidence.keys)
    actual = _file_sha256(runtime, clip)
    if seal is None:
        status = "unsealed"
        problems.insert(0, f"clip {clip.id} has no seal as its first custody entry")
    elif problems:
        status = "broken-chain"
    elif actual is None:
        status = "missing"
        problems.append(f"clip {clip.id}: the file {clip.path} is missing")
    elif actual != seal.object_sha256 or actual != clip.sha256:
        status = "modified"
        problems.append(f"clip {clip.id}: file SHA-256 {actual} differs from the sealed {seal.object_sha256}")
    else:
        status = "intact"
    return ClipCheck(clip.id, status, seal.object_sha256 if seal else None, actual, len(entries), tuple(problems))
