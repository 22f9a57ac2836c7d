"""Witnesses: places outside the storage folder that keep a copy of every checkpoint.

An attacker with the storage folder and the database can rewrite both the log and the local
``checkpoints.log``; a witness is what they cannot reach. Today a witness is a folder (a
mounted share, a USB disk, another machine's export); an object store with Object Lock fits
the same small interface: publish a line, read back what is held.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from evidence.checkpoints import (
    FILE_NAME,
    Checkpoint,
    Published,
    append_checkpoint,
    newest_checkpoint,
    read_checkpoints,
)
from evidence.errors import ChainError


class Witness(Protocol):
    """Somewhere checkpoints are copied to and read back from."""

    @property
    def name(self) -> str:
        """How reports name this witness (a path, a bucket URL)."""
        ...

    def publish(self, published: Published) -> None:
        """Store one more checkpoint; raises OSError when the witness cannot be reached."""
        ...

    def newest(self) -> Checkpoint | None:
        """The largest checkpoint held, to build the next consistency proof from."""
        ...

    def checkpoints(self) -> list[Published | ChainError]:
        """Everything held, in the order it was written; unreadable items as their errors."""
        ...


class FolderWitness:
    """A folder holding an append-only ``checkpoints.log``, as the storage folder itself does."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @property
    def name(self) -> str:
        return str(self.folder / FILE_NAME)

    def publish(self, published: Published) -> None:
        append_checkpoint(self.folder, published)

    def newest(self) -> Checkpoint | None:
        return newest_checkpoint(self.folder / FILE_NAME)

    def checkpoints(self) -> list[Published | ChainError]:
        return read_checkpoints(self.folder / FILE_NAME)

    def __repr__(self) -> str:
        return f"FolderWitness({str(self.folder)!r})"
