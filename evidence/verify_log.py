"""Steps 1-3 of store verification: every entry, every link, every checkpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.canonical import canonical_json, parse_canonical
from evidence.checkpoints import FILE_NAME, Checkpoint, read_checkpoints
from evidence.entry import decode_signature, entry_body
from evidence.errors import ChainError, SignatureError
from evidence.hashing import sha256_bytes
from evidence.keys import PublicKeyring
from evidence.report import Failure
from evidence.trust import KeyChain, Rotation

Row = Mapping[str, Any]


@dataclass(frozen=True)
class LogCheck:
    failures: list[Failure]
    valid: set[int]  # seqs of entries whose hash and signature verified
    checkpoints: int


def body_bytes(row: Row, seq: int | None = None) -> bytes | None:
    """The signed bytes rebuilt from a stored row, or None when the row cannot be encoded."""
    try:
        details = parse_canonical(row["details"])
        if canonical_json(details).decode("utf-8") != row["details"]:
            return None  # stored exactly as canonical text; any other bytes were edited
        return canonical_json(entry_body(
            seq=row["seq"] if seq is None else seq, time=row["time"], actor=row["actor"],
            action=row["action"], clip_id=row["clip_id"], object_sha256=row["object_sha256"],
            details=details, prev_hash=row["prev_hash"], prev_clip_hash=row["prev_clip_hash"],
            key_id=row["key_id"],
        ))
    except Exception:  # noqa: BLE001 - any undecodable or unencodable value means the row was altered
        return None


def check_entries(rows: Sequence[Row], keys: PublicKeyring) -> LogCheck:
    """Step 1 and 2: each entry's hash and signature, then the links between them."""
    failures: list[Failure] = []
    origin = _original_positions(rows)
    valid: set[int] = set()
    for row in rows:
        problem = _check_row(row, keys, origin.get(row["entry_hash"]))
        if problem is None:
            valid.add(row["seq"])
        else:
            failures.append(problem)
    failures.extend(_check_links(rows, valid))
    return LogCheck(failures, valid, 0)


def check_key_chain(rows: Sequence[Row], valid: set[int]) -> tuple[KeyChain | None, list[Failure]]:
    """Step 2b: the key of entry #1 signs until a ``key_rotated`` entry it signed names the next
    key, and so on. An entry signed by any other key (swapped in, or retired and restored) is
    reported even though its signature verifies."""
    good = [row for row in rows if row["seq"] in valid]
    if not good:
        return None, []
    failures: list[Failure] = []
    chain = KeyChain.build(good[0]["key_id"], [])
    for row in good:
        problem = chain.entry_problem(row["seq"], row["key_id"])
        if problem is not None:
            failures.append(Failure(problem[0], problem[1], row["clip_id"], row["seq"]))
        elif row["action"] == "key_rotated":
            details = parse_canonical(row["details"])
            rotation = Rotation(seq=row["seq"], old_key_id=str(details.get("old_key_id")),
                                new_key_id=str(details.get("new_key_id")))
            try:
                chain = KeyChain.build(chain.keys[0], [*chain.rotations, rotation])
            except ChainError as exc:
                failures.append(Failure("unlinked_key", str(exc), seq=row["seq"]))
    return chain, failures


def _check_row(row: Row, keys: PublicKeyring, original: int | None) -> Failure | None:
    seq, clip = row["seq"], row["clip_id"]
    data = body_bytes(row)
    if data is None or sha256_bytes(data) != row["entry_hash"]:
        moved = original is not None and original != seq and body_bytes(row, original)
        if moved and sha256_bytes(moved) == row["entry_hash"]:
            return Failure("reordered", f"entry #{original} is stored at position #{seq}", clip, seq)
        return Failure("modified", f"entry #{seq}: content does not match its recorded hash", clip, seq)
    try:
        keys.verify(row["key_id"], data, decode_signature(row["signature"]), what=f"entry #{seq}")
    except SignatureError as exc:
        kind = "unknown_key" if row["key_id"] not in keys else "bad_signature"
        return Failure(kind, str(exc), clip, seq)
    return None


def _original_positions(rows: Sequence[Row]) -> dict[str, int]:
    """Where each entry stood when written, following prev_hash back to the first entry."""
    by_hash = {row["entry_hash"]: row for row in rows}
    origin: dict[str, int] = {}
    for row in rows:
        trail: list[str] = []
        current: str | None = row["entry_hash"]
        while current is not None and current not in origin and current in by_hash and len(trail) <= len(rows):
            trail.append(current)
            current = by_hash[current]["prev_hash"]
        if current is not None and current not in origin:
            continue  # the chain back is broken or loops: no original position to offer
        base = 0 if current is None else origin[current]
        for offset, entry_hash in enumerate(reversed(trail), start=1):
            origin[entry_hash] = base + offset
    return origin


def _check_links(rows: Sequence[Row], valid: set[int]) -> list[Failure]:
    failures: list[Failure] = []
    for index, row in enumerate(rows):
        seq = row["seq"]
        expected = rows[index - 1]["seq"] + 1 if index else 1
        if seq > expected:
            span = f"#{expected}" if seq == expected + 1 else f"#{expected}-#{seq - 1}"
            failures.append(Failure("deleted", f"entries {span} are missing before entry #{seq}", seq=seq))
            continue
        if seq not in valid or (index and rows[index - 1]["seq"] not in valid):
            continue
        prev_hash = rows[index - 1]["entry_hash"] if index else None
        if row["prev_hash"] == prev_hash:
            continue
        if index >= 2 and row["prev_hash"] == rows[index - 2]["entry_hash"]:
            before = rows[index - 1]
            failures.append(Failure("inserted", f"entry #{before['seq']} was not in the chain",
                                    before["clip_id"], before["seq"]))
        else:
            failures.append(Failure(
                "deleted", f"entry #{seq} follows an entry that is no longer in the log", row["clip_id"], seq))
    return failures


def check_checkpoints(rows: Sequence[Row], folders: Sequence[Path], keys: PublicKeyring,
                      chain: KeyChain | None = None) -> LogCheck:
    """Step 3: every signed checkpoint (and its witness copy) must still match the log."""
    failures: list[Failure] = []
    seen: dict[str, Checkpoint] = {}
    for folder in folders:
        for item in read_checkpoints(folder / FILE_NAME):
            if isinstance(item, ChainError):
                failures.append(Failure("bad_checkpoint", str(item)))
            else:
                seen.setdefault(item.signature, item)
    by_seq = {row["seq"]: row for row in rows}
    for checkpoint in seen.values():
        found = _check_checkpoint(checkpoint, by_seq, keys)
        problem = chain.checkpoint_problem(checkpoint.size, checkpoint.key_id) if chain else None
        failures.extend(found or ([Failure(problem[0], problem[1], seq=checkpoint.size)] if problem else []))
    if rows and not seen:
        failures.append(Failure("unanchored", f"{len(rows)} entries but no signed checkpoint in "
                                              f"{', '.join(str(f / FILE_NAME) for f in folders)}"))
    return LogCheck(failures, set(), len(seen))


def _check_checkpoint(checkpoint: Checkpoint, by_seq: Mapping[int, Row], keys: PublicKeyring) -> list[Failure]:
    what = f"checkpoint of {checkpoint.size} entries at {checkpoint.time}"
    try:
        keys.verify(checkpoint.key_id, checkpoint.signed_bytes(), checkpoint.signature_bytes(), what=what)
    except SignatureError as exc:
        kind = "unknown_key" if checkpoint.key_id not in keys else "bad_signature"
        return [Failure(kind, str(exc))]
    last = max(by_seq, default=0)
    if checkpoint.size > last:
        return [Failure("truncated", f"{what}: the log now ends at entry #{last}", seq=checkpoint.size)]
    row = by_seq.get(checkpoint.size)
    if row is None or row["entry_hash"] != checkpoint.head:
        found = row["entry_hash"] if row else "nothing"
        return [Failure("rewritten", f"{what}: entry #{checkpoint.size} should hash to "
                                     f"{checkpoint.head}, found {found}", seq=checkpoint.size)]
    return []
