"""A custody entry and the exact bytes that are hashed and signed for it.

The signed bytes are the RFC 8785 canonical JSON of :func:`entry_body`; the entry hash is the
SHA-256 of those same bytes, so ``sha256sum`` and ``openssl pkeyutl -verify -rawin`` check an
entry exported as a file with nothing else. No database import here: the bundle verifier uses it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evidence.actions import Action
from evidence.canonical import canonical_json

ENTRY_TYPE = "hotspot-custody-entry"
VERSION = 1


def entry_body(
    *, seq: int, time: str, actor: str, action: str, clip_id: str | None, object_sha256: str | None,
    details: dict[str, Any], prev_hash: str | None, prev_clip_hash: str | None, key_id: str,
) -> dict[str, Any]:
    """The signed content of an entry. ``type`` keeps these signatures from passing as others."""
    return {
        "type": ENTRY_TYPE, "v": VERSION, "seq": seq, "time": time, "actor": actor, "action": action,
        "clip_id": clip_id, "object_sha256": object_sha256, "details": details,
        "prev_hash": prev_hash, "prev_clip_hash": prev_clip_hash, "key_id": key_id,
    }


@dataclass(frozen=True)
class CustodyRecord:
    """One signed entry of the custody log."""

    seq: int
    time: datetime
    actor: str
    action: Action
    clip_id: str | None
    object_sha256: str | None
    details: dict[str, Any]
    prev_hash: str | None
    prev_clip_hash: str | None
    entry_hash: str
    signature: str
    key_id: str

    @property
    def time_text(self) -> str:
        """The time exactly as it was signed (UTC, ISO 8601, microseconds)."""
        return format_time(self.time)

    def body(self) -> dict[str, Any]:
        return entry_body(
            seq=self.seq, time=self.time_text, actor=self.actor, action=self.action.value,
            clip_id=self.clip_id, object_sha256=self.object_sha256, details=self.details,
            prev_hash=self.prev_hash, prev_clip_hash=self.prev_clip_hash, key_id=self.key_id,
        )

    def signed_bytes(self) -> bytes:
        return canonical_json(self.body())

    def signature_bytes(self) -> bytes:
        return decode_signature(self.signature)


def format_time(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def decode_signature(text: str) -> bytes:
    """Base64 to the 64 raw signature bytes; malformed text yields bytes that never verify."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def encode_signature(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
