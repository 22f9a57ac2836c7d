"""What store verification found: small frozen records, printable and JSON-serialisable."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

KINDS = (
    "modified", "missing", "unsealed", "reordered", "inserted", "deleted", "truncated",
    "rewritten", "bad_signature", "unknown_key", "bad_checkpoint", "unanchored", "keyring",
    "inconsistent", "time_backwards", "bad_timestamp",
)


@dataclass(frozen=True)
class Failure:
    """One thing that did not verify, and where: a clip, an entry, or a checkpoint."""

    kind: str
    message: str
    clip_id: str | None = None
    seq: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown failure kind {self.kind!r}")


@dataclass(frozen=True)
class StoreReport:
    """Everything ``verify_store`` checked; ``ok`` only when nothing failed."""

    entries: int
    checkpoints: int
    clips: int
    bytes_hashed: int
    key_ids: tuple[str, ...]
    failures: tuple[Failure, ...]
    warnings: tuple[str, ...]
    timestamps: int = 0  # authority tokens that verified

    @property
    def ok(self) -> bool:
        return not self.failures

    def kinds(self) -> set[str]:
        return {f.kind for f in self.failures}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


class ProgressSink(Protocol):
    """Where verification reports how far it got (a Rich progress bar on a terminal)."""

    def stage(self, name: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


class NoProgress:
    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass
