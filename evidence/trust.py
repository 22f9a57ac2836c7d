"""Which keys a verifier may believe: trust anchors and the chain of key rotations.

A site's keys form one chain. The first key signs from entry #1; each later key is introduced
by a ``key_rotated`` entry signed by the key before it, which from then on is retired. So an
entry is genuine only if the key active at its position signed it, and a key nobody rotated
to (a swapped ``signing.pem``) or a retired key signing again is a finding, not a new normal.

Trust comes from outside the bundle or store: fingerprints the reader got from the site's
printed card (``--trust``, ``--trust-file``). A trusted key vouches for every key it rotated
to, never for the keys before it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from evidence.errors import ChainError, TrustError

FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
MAX_TRUST_FILE = 1 << 20


@dataclass(frozen=True)
class Rotation:
    """Entry ``seq`` (signed by ``old_key_id``) made ``new_key_id`` the signing key."""

    seq: int
    old_key_id: str
    new_key_id: str


@dataclass(frozen=True)
class KeyChain:
    """The site's keys in the order they signed. ``rotations[i]`` retires ``keys[i]`` for ``keys[i + 1]``."""

    keys: tuple[str, ...]
    rotations: tuple[Rotation, ...]

    @classmethod
    def build(cls, first_key: str, rotations: Iterable[Rotation]) -> KeyChain:
        """Link rotations in log order; a rotation not signed by the key then active breaks the chain."""
        keys, linked = [first_key], []
        for rotation in rotations:
            if rotation.old_key_id != keys[-1]:
                raise ChainError(f"key rotation at entry #{rotation.seq}: retires key {rotation.old_key_id}, "
                                 f"but the active key was {keys[-1]} (an unlinked key)")
            if rotation.new_key_id in keys:
                raise ChainError(f"key rotation at entry #{rotation.seq}: brings back key {rotation.new_key_id}, "
                                 "which was already used (a retired key cannot return)")
            keys.append(rotation.new_key_id)
            linked.append(rotation)
        return cls(tuple(keys), tuple(linked))

    @property
    def current(self) -> str:
        return self.keys[-1]

    def index_at(self, seq: int) -> int:
        """Index of the key that signs entry ``seq`` (a rotation entry is signed by the key it retires)."""
        return sum(1 for rotation in self.rotations if rotation.seq < seq)

    def active_at(self, seq: int) -> str:
        return self.keys[self.index_at(seq)]

    def entry_problem(self, seq: int, kid: str) -> tuple[str, str] | None:
        """``(kind, message)`` when entry ``seq`` was signed by a key that could not sign it then."""
        if kid not in self.keys:
            return "unlinked_key", (f"entry #{seq}: signed by key {kid}, which no key_rotated entry introduced "
                                    f"(the site's keys are {', '.join(self.keys)})")
        if kid != self.active_at(seq):
            return "retired_key", (f"entry #{seq}: signed by key {kid}, but key {self.active_at(seq)} was the "
                                   "signing key then (a retired key, or one used before its rotation)")
        return None

    def checkpoint_problem(self, size: int, kid: str) -> tuple[str, str] | None:
        """A checkpoint may be signed by the key active at its last entry or by any later key."""
        if kid not in self.keys:
            return "unlinked_key", f"checkpoint of {size} entries: signed by key {kid}, which no rotation introduced"
        if self.keys.index(kid) < self.index_at(size):
            return "retired_key", (f"checkpoint of {size} entries: signed by key {kid}, retired before entry "
                                   f"#{size}")
        return None

    def trusted_from(self, anchors: Collection[str]) -> tuple[str, ...]:
        """Keys vouched for by an anchor: the earliest anchored key and every key after it."""
        for index, kid in enumerate(self.keys):
            if kid in anchors:
                return self.keys[index:]
        raise TrustError(
            f"signed by key {self.current}, and no trusted fingerprint is that key or a key that rotated to it "
            f"(the bundle's keys are {', '.join(self.keys)}): it was not signed by the site whose fingerprint "
            "you trust"
        )


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as typed from a card: spaces, colons and upper case are allowed."""
    flat = re.sub(r"[\s:]", "", text).lower()
    if not FINGERPRINT.match(flat):
        raise ValueError(f"{text!r} is not a key fingerprint (64 hexadecimal digits)")
    return flat


def read_trust_file(path: Path) -> list[str]:
    """Fingerprints, one a line; ``#`` starts a comment, so a printed card's text file is a trust file."""
    try:
        if path.stat().st_size > MAX_TRUST_FILE:
            raise ValueError(f"{path}: larger than {MAX_TRUST_FILE} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the trust file ({exc})") from exc
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        try:
            found.append(normalise_fingerprint(content))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    if not found:
        raise ValueError(f"{path}: no fingerprint in the trust file")
    return found
