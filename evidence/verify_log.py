"""Steps 1-3 of store verification: every entry, every link, every checkpoint.

Step 3 rebuilds the RFC 9162 Merkle tree from the entries and compares it with every signed
checkpoint held locally and by each witness; the witnesses' own files are also checked on
their own, through the consistency proof each line carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evidence.canonical import canonical_json, parse_canonical
from evidence.checkpoints import Checkpoint, Published
from evidence.entry import decode_signature, entry_body
from evidence.errors import ChainError, SignatureError
from evidence.hashing import sha256_bytes
from evidence.keys import PublicKeyring
from evidence.merkle import MemoryTree, verify_consistency
from evidence.report import Failure
from evidence.trust import KeyChain, Rotation
from evidence.witness import Witness

Row = Mapping[str, Any]


@dataclass(frozen=True)
class LogCheck:
    failures: list[Failure]
    valid: set[int]  # seqs of entries whose hash and signature verified
    checkpoints: int
    signed: dict[bytes, Checkpoint] = field(default_factory=dict)  # checkpoints whose signature verified


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


def check_checkpoints(rows: Sequence[Row], sources: Sequence[Witness], keys: PublicKeyring, *,
                      broken_from: int | None = None, chain: KeyChain | None = None) -> LogCheck:
    """Step 3: every signed checkpoint (local, then each witness's) must still match the log,
    and be signed by the key the log had rotated to at its size (``chain``).

    ``broken_from`` is the first entry steps 1-2 already reported: the Merkle roots of larger
    checkpoints cannot match after it, and saying so again would only bury the finding.
    """
    failures: list[Failure] = []
    tree = MemoryTree.of(body_bytes(row) or bytes.fromhex(row["entry_hash"]) for row in rows)
    by_seq = {row["seq"]: row for row in rows}
    last = max(by_seq, default=0)
    seen: dict[str, tuple[Checkpoint, str]] = {}
    for source in sources:
        held = _signed_checkpoints(source, keys, failures)
        if rows and not held:
            failures.append(Failure("unanchored", f"{len(rows)} entries but no signed checkpoint in {source.name}"))
        failures.extend(_check_links_between(held, source))
        for item in held:
            seen.setdefault(item.checkpoint.signature, (item.checkpoint, source.name))
    beyond = [pair for pair in seen.values() if pair[0].size > last]
    if beyond:
        checkpoint, where = max(beyond, key=lambda pair: pair[0].size)
        missing = f"#{last + 1}" if checkpoint.size == last + 1 else f"#{last + 1}-#{checkpoint.size}"
        failures.append(Failure("truncated", f"{_what(checkpoint)} in {where} holds {checkpoint.size} entries but "
                                             f"the log ends at entry #{last}: entries {missing} were removed",
                                seq=last + 1))
    for checkpoint, where in seen.values():
        found = _check_against_log(checkpoint, where, by_seq, tree if broken_from is None
                                   or checkpoint.size < broken_from else None) if checkpoint.size <= last else []
        problem = chain.checkpoint_problem(checkpoint.size, checkpoint.key_id) if chain else None
        failures.extend(found or ([Failure(problem[0], problem[1], seq=checkpoint.size)] if problem else []))
    return LogCheck(failures, set(), len(seen), {c.signed_bytes(): c for c, _ in seen.values()})


def _signed_checkpoints(source: Witness, keys: PublicKeyring, failures: list[Failure]) -> list[Published]:
    held: list[Published] = []
    for item in source.checkpoints():
        if isinstance(item, ChainError):
            failures.append(Failure("bad_checkpoint", str(item)))
            continue
        checkpoint = item.checkpoint
        try:
            keys.verify(checkpoint.key_id, checkpoint.signed_bytes(), checkpoint.signature_bytes(),
                        what=f"{_what(checkpoint)} in {source.name}")
        except SignatureError as exc:
            failures.append(Failure("unknown_key" if checkpoint.key_id not in keys else "bad_signature", str(exc)))
            continue
        held.append(item)
    return held


def _check_links_between(held: Sequence[Published], source: Witness) -> list[Failure]:
    """Each line's consistency proof with the checkpoint the witness held before it: checked
    without the log, so a witness's copy proves on its own that the log only ever grew."""
    failures: list[Failure] = []
    roots = {p.checkpoint.size: p.checkpoint.root for p in held if p.checkpoint.root is not None}
    for item in held:
        if item.linked_to is None or item.checkpoint.root is None:
            continue
        other = roots.get(item.linked_to)
        if other is None:
            failures.append(Failure("inconsistent", f"{item.where}: its consistency proof refers to a checkpoint "
                                                    f"of {item.linked_to} entries that {source.name} does not hold"))
            continue
        (first, first_root), (second, second_root) = sorted(
            [(item.linked_to, other), (item.checkpoint.size, item.checkpoint.root)])
        try:
            verify_consistency(first, second, bytes.fromhex(first_root), bytes.fromhex(second_root),
                               [bytes.fromhex(h) for h in item.proof])
        except ChainError as exc:
            failures.append(Failure("inconsistent", f"{item.where}: {exc}", seq=first))
    return failures


def _what(checkpoint: Checkpoint) -> str:
    return f"checkpoint of {checkpoint.size} entries at {checkpoint.time}"


def _check_against_log(checkpoint: Checkpoint, where: str, by_seq: Mapping[int, Row],
                       tree: MemoryTree | None) -> list[Failure]:
    what = f"{_what(checkpoint)} in {where}"
    row = by_seq.get(checkpoint.size)
    if row is None or row["entry_hash"] != checkpoint.head:
        found = row["entry_hash"] if row else "nothing"
        return [Failure("rewritten", f"{what}: entry #{checkpoint.size} should hash to "
                                     f"{checkpoint.head}, found {found}", seq=checkpoint.size)]
    if tree is not None and checkpoint.root is not None and (checkpoint.size > tree.size or tree.root(checkpoint.size).hex() != checkpoint.root):
        found = tree.root(min(checkpoint.size, tree.size)).hex()
        return [Failure("rewritten", f"{what}: the first {checkpoint.size} entries should have Merkle root "
                                     f"{checkpoint.root}, found {found}", seq=checkpoint.size)]
    return []
