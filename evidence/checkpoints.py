"""Signed checkpoints (log size + head hash) kept outside the database.

Whoever controls the database can recompute a hash chain, but not these signatures: the
append-only ``checkpoints.log`` (and its optional witness copy) pins every prefix it names,
so truncating or rewriting the log behind a checkpoint is detected.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence.canonical import canonical_json
from evidence.entry import decode_signature, encode_signature, format_time
from evidence.errors import ChainError

CHECKPOINT_TYPE = "hotspot-custody-checkpoint"
FILE_NAME = "checkpoints.log"
MAX_LINE = 4096


@dataclass(frozen=True)
class Checkpoint:
    """The log had ``size`` entries and entry ``size`` hashed to ``head`` at ``time``."""

    size: int
    head: str
    time: str
    key_id: str
    signature: str

    def body(self) -> dict[str, Any]:
        return {"type": CHECKPOINT_TYPE, "v": 1, "size": self.size, "head": self.head,
                "time": self.time, "key_id": self.key_id}

    def signed_bytes(self) -> bytes:
        return canonical_json(self.body())

    def signature_bytes(self) -> bytes:
        return decode_signature(self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": self.body(), "signature": self.signature}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Checkpoint:
        """Parse a stored checkpoint, rejecting anything not shaped exactly as written."""
        try:
            body, signature = data["checkpoint"], data["signature"]
            if body.get("type") != CHECKPOINT_TYPE or body.get("v") != 1:
                raise ValueError("not a version 1 checkpoint")
            size, head, time, kid = body["size"], body["head"], body["time"], body["key_id"]
            if not (isinstance(size, int) and size >= 1 and all(
                    isinstance(v, str) for v in (head, time, kid, signature))):
                raise ValueError("field of the wrong type")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ChainError(f"{where}: malformed checkpoint ({exc})") from exc
        return cls(size=size, head=head, time=time, key_id=kid, signature=signature)


def make_checkpoint(*, size: int, head: str, key_id: str, sign: Any) -> Checkpoint:
    """Sign a checkpoint for the first ``size`` entries, whose last hashed to ``head``."""
    unsigned = Checkpoint(size=size, head=head, time=format_time(datetime.now(UTC)), key_id=key_id,
                          signature="")
    return Checkpoint(**{**unsigned.__dict__, "signature": encode_signature(sign(unsigned.signed_bytes()))})


def append_checkpoint(folder: Path, checkpoint: Checkpoint) -> None:
    """Append one line with a single O_APPEND write, so concurrent writers never interleave."""
    folder.mkdir(parents=True, exist_ok=True)
    line = json.dumps(checkpoint.to_json(), sort_keys=True, separators=(",", ":")).encode() + b"\n"
    fd = os.open(folder / FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(path: Path) -> list[Checkpoint | ChainError]:
    """Every line of a checkpoint file, parsed; a bad line becomes its error, in place."""
    if not path.exists():
        return []
    found: list[Checkpoint | ChainError] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                if len(raw) > MAX_LINE:
                    raise ValueError(f"line longer than {MAX_LINE} bytes")
                found.append(Checkpoint.from_json(json.loads(raw), where))
            except ValueError as exc:
                found.append(ChainError(f"{where}: malformed checkpoint ({exc})"))
            except ChainError as exc:
                found.append(exc)
    return found
