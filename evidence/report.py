"""What store verification found: small frozen records, printable and JSON-serialisable."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

KINDS = (
    "modified", "missing", "unsealed", "reordered", "inserted", "deleted", "truncated",
    "rewritten", "bad_signature", "unknown_key", "unlinked_key", "retired_key", "bad_checkpoint", "unanchored",
    "keyring", "inconsistent", "time_backwards", "bad_timestamp",
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


STORE_PROVES = (
    "every sealed clip still on disk hashes to its seal, and every missing one has a deletion entry",
    "every custody entry is intact, in one chain, and signed by the key active at its position",
    "every signed checkpoint (and its witness copy) matches the log",
)
STORE_DOES_NOT_PROVE = (
    ("that no entry written after the newest witnessed checkpoint was removed (a checkpoint follows "
     "every seal, and other entries within storage.checkpoint_interval)"),
    "that the times are true: they come from the site's own clock",
    "that a clip sealed as incomplete or recovered holds more than what was written before recording stopped",
)


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
    recovered: tuple[str, ...] = ()
    """Clips sealed under the ``recovered`` action: left open by a crash, sealed as found."""
    timestamps: int = 0  # authority tokens that verified

    @property
    def ok(self) -> bool:
        return not self.failures

    def kinds(self) -> set[str]:
        return {f.kind for f in self.failures}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        if self.ok:
            data.update(proves=list(STORE_PROVES), does_not_prove=list(STORE_DOES_NOT_PROVE))
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
