"""Recording errors: one root, a subclass only where the caller reacts differently."""

from __future__ import annotations


class RecordError(Exception):
    """Root of every recording failure; the message names the clip file."""


class ClipWriteError(RecordError):
    """The clip file could not be written (disk full, I/O error); what was synced stays."""


class EmptyClipError(RecordError):
    """A clip closed without a single frame; its file was removed, nothing to seal."""
