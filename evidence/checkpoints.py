"""Signed checkpoints (tree size, Merkle root, last entry, time) kept outside the database.

Whoever controls the database can recompute a hash chain, but not these signatures: every
checkpoint commits to the RFC 9162 Merkle root of the first ``size`` entries, and the copy each
witness keeps pins every prefix it names, so truncating or rewriting the log behind a witnessed
checkpoint is detected. Each published line also carries a consistency proof from the newest
checkpoint that witness already held, so a witness's file can be checked without the log.
Version 1 checkpoints (no root) from older stores are still read and checked by their head.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence.canonical import canonical_json
from evidence.entry import decode_signature, encode_signature, format_time
from evidence.errors import ChainError
from evidence.hashing import sha256_bytes

CHECKPOINT_TYPE = "hotspot-custody-checkpoint"
VERSION = 2
FILE_NAME = "checkpoints.log"
MAX_LINE = 16384
TAIL_BYTES = 65536
HEX64 = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Checkpoint:
    """The log had ``size`` entries with Merkle root ``root``, entry ``size`` hashed to ``head``."""

    size: int
    head: str
    time: str
    key_id: str
    signature: str
    root: str | None = None  # None only in version 1 checkpoints

    def body(self) -> dict[str, Any]:
        body = {"type": CHECKPOINT_TYPE, "v": 1 if self.root is None else VERSION, "size": self.size,
                "head": self.head, "time": self.time, "key_id": self.key_id}
        return body if self.root is None else {**body, "root": self.root}

    def signed_bytes(self) -> bytes:
        return canonical_json(self.body())

    def signature_bytes(self) -> bytes:
        return decode_signature(self.signature)

    @property
    def name(self) -> str:
        """A stable file-name stem: the size and the start of the signed bytes' hash."""
        return f"{self.size:010d}-{sha256_bytes(self.signed_bytes())[:16]}"

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": self.body(), "signature": self.signature}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Checkpoint:
        """Parse a stored checkpoint, rejecting anything not shaped exactly as written."""
        try:
            body, signature = data["checkpoint"], data["signature"]
            version = body.get("type") == CHECKPOINT_TYPE and body.get("v")
            if version not in (1, VERSION):
                raise ValueError("not a version 1 or 2 checkpoint")
            size, head, time, kid = body["size"], body["head"], body["time"], body["key_id"]
            root = body["root"] if version == VERSION else None
            if set(body) - {"type", "v", "size", "head", "time", "key_id", "root"}:
                raise ValueError("unknown field")
            if not (isinstance(size, int) and not isinstance(size, bool) and size >= 1 and all(
                    isinstance(v, str) for v in (head, time, kid, signature))):
                raise ValueError("field of the wrong type")
            if root is not None and not _is_hash(root):
                raise ValueError("root is not 64 lower-case hex digits")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ChainError(f"{where}: malformed checkpoint ({exc})") from exc
        return cls(size=size, head=head, time=time, key_id=kid, signature=signature, root=root)


@dataclass(frozen=True)
class Published:
    """A checkpoint as one witness holds it, with the proof that it extends an earlier one."""

    checkpoint: Checkpoint
    linked_to: int | None = None  # size of the witness's newest checkpoint when this one came
    proof: tuple[str, ...] = ()  # RFC 9162 consistency proof between the smaller and the larger
    where: str = ""

    def to_json(self) -> dict[str, Any]:
        data = self.checkpoint.to_json()
        if self.linked_to is not None:
            data["consistency"] = {"with": self.linked_to, "proof": list(self.proof)}
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> Published:
        checkpoint = Checkpoint.from_json(data, where)
        link = data.get("consistency")
        if link is None:
            return cls(checkpoint, where=where)
        try:
            other, proof = link["with"], link["proof"]
            if not (isinstance(other, int) and not isinstance(other, bool) and other >= 1
                    and isinstance(proof, list) and all(_is_hash(p) for p in proof)):
                raise ValueError("consistency proof of the wrong shape")
        except (KeyError, TypeError, ValueError) as exc:
            raise ChainError(f"{where}: malformed checkpoint ({exc})") from exc
        return cls(checkpoint, other, tuple(proof), where)


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX64


def make_checkpoint(*, size: int, root: str, head: str, key_id: str, sign: Callable[[bytes], bytes],
                    now: datetime | None = None) -> Checkpoint:
    """Sign a checkpoint for the first ``size`` entries."""
    moment = now or datetime.now(UTC)
    unsigned = Checkpoint(size=size, head=head, time=format_time(moment), key_id=key_id, signature="",
                          root=root)
    return Checkpoint(**{**unsigned.__dict__, "signature": encode_signature(sign(unsigned.signed_bytes()))})


def append_checkpoint(folder: Path, published: Published | Checkpoint) -> None:
    """Append one line with a single O_APPEND write, so concurrent writers never interleave."""
    folder.mkdir(parents=True, exist_ok=True)
    line = json.dumps(published.to_json(), sort_keys=True, separators=(",", ":")).encode() + b"\n"
    fd = os.open(folder / FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(path: Path) -> list[Published | ChainError]:
    """Every line of a checkpoint file, parsed; a bad line becomes its error, in place."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        return [_parse_line(raw, f"{path}:{number}") for number, raw in enumerate(handle, start=1)]


def newest_checkpoint(path: Path) -> Checkpoint | None:
    """The largest well-formed checkpoint among the file's last lines (cheap on a long file)."""
    try:
        with path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, end - TAIL_BYTES))
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return None
    if end > TAIL_BYTES:
        lines = lines[1:]  # the first line read may be cut
    found = [p.checkpoint for p in (_parse_line(raw, str(path)) for raw in lines) if isinstance(p, Published)]
    return max(found, key=lambda c: c.size, default=None)


def _parse_line(raw: bytes, where: str) -> Published | ChainError:
    try:
        if len(raw) > MAX_LINE:
            raise ValueError(f"line longer than {MAX_LINE} bytes")
        return Published.from_json(json.loads(raw), where)
    except ValueError as exc:
        return ChainError(f"{where}: malformed checkpoint ({exc})")
    except ChainError as exc:
        return exc
