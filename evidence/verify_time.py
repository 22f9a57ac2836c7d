"""Step 6 of store verification: entry times, and the timestamp authorities' tokens.

The site's clock dates entries; a clock set back makes new entries look older than earlier
ones, so any entry dated before the entry written just before it is reported. A token from an
independent authority dates a checkpoint: an entry the checkpoint does not contain yet dated
before that token's time was backdated, and a checkpoint dated after its token was signed
by a clock running fast.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from evidence.checkpoints import Checkpoint
from evidence.errors import ChainError
from evidence.report import Failure
from evidence.timestamps import PENDING_DIR, TOLERANCE, TimestampError, verify_token

Row = Mapping[str, Any]


@dataclass
class TimeCheck:
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tokens: int = 0


def check_entry_times(rows: Sequence[Row]) -> list[Failure]:
    """Each entry must be dated no earlier than the one before it."""
    failures = []
    for before, after in itertools.pairwise(rows):
        earlier, later = _time(before), _time(after)
        if earlier is not None and later is not None and later < earlier:
            failures.append(Failure("time_backwards", f"entry #{after['seq']} is dated {after['time']}, before "
                                                      f"entry #{before['seq']} ({before['time']}): the site's "
                                                      "clock went backwards", after["clip_id"], after["seq"]))
    return failures


def check_timestamps(folder: Path, rows: Sequence[Row], checkpoints: Mapping[bytes, Checkpoint],
                     roots: Sequence[x509.Certificate] | None) -> TimeCheck:
    """Every token in ``folder`` must verify over a checkpoint known to be genuine (``checkpoints``,
    by signed bytes); entries are then compared with the times the authorities attest."""
    result = TimeCheck()
    if not folder.is_dir():
        return result
    tokens = sorted(folder.glob("*.tsr"))
    pending = sum(1 for _ in (folder / PENDING_DIR).iterdir()) if (folder / PENDING_DIR).is_dir() else 0
    if pending:
        result.warnings.append(f"{pending} checkpoint(s) still wait for a timestamp token (authority unreachable)")
    if tokens and not roots:
        result.warnings.append(f"{len(tokens)} timestamp token(s) not checked: no authority root certificates "
                               "given (evidence.timestamp_ca_file)")
        return result
    earliest_after = _EarliestAfter(rows)
    reported: set[int] = set()
    for path in tokens:
        data_path = path.with_name(path.name.split(".")[0] + ".json")
        try:
            data = data_path.read_bytes()
            checkpoint = checkpoints.get(data)
            if checkpoint is None:
                raise ChainError(f"{data_path.name} is not a checkpoint the log or a witness holds")
            stamp = verify_token(path.read_bytes(), data, roots=roots or ())
        except (OSError, TimestampError, ChainError) as exc:
            result.failures.append(Failure("bad_timestamp", f"{path}: {exc}"))
            continue
        result.tokens += 1
        claimed = datetime.fromisoformat(checkpoint.time)
        if claimed > stamp.time + TOLERANCE:
            result.failures.append(Failure(
                "time_backwards", f"checkpoint of {checkpoint.size} entries is dated {checkpoint.time} but "
                                  f"{stamp.authority} timestamped it at {stamp.time.isoformat()}: the site's clock "
                                  "was fast", seq=checkpoint.size))
        row = earliest_after.entry(checkpoint.size)
        if row is not None and row["seq"] not in reported and _time(row) < stamp.time - TOLERANCE:  # type: ignore[operator]
            reported.add(row["seq"])
            result.failures.append(Failure(
                "time_backwards", f"entry #{row['seq']} is dated {row['time']}, before {stamp.authority} "
                                  f"timestamped the checkpoint of {checkpoint.size} entries ({stamp.time.isoformat()}) "
                                  "that does not contain it: it was backdated", row["clip_id"], row["seq"]))
    return result


class _EarliestAfter:
    """The earliest-dated entry after any position, precomputed in one backwards pass."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self._seqs = [row["seq"] for row in rows]
        self._best: list[Row | None] = [None] * (len(rows) + 1)
        for index in range(len(rows) - 1, -1, -1):
            best, when = self._best[index + 1], _time(rows[index])
            self._best[index] = rows[index] if when is not None and (
                best is None or when < _time(best)) else best  # type: ignore[operator]

    def entry(self, size: int) -> Row | None:
        return self._best[bisect.bisect_right(self._seqs, size)]


def _time(row: Row) -> datetime | None:
    try:
        return datetime.fromisoformat(row["time"])
    except (TypeError, ValueError):
        return None
