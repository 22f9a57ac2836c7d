"""Benchmark rows and their Markdown table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """min / median / max of repeated measurements."""

    low: float
    median: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("a spread needs at least one measurement")
        return cls(min(values), statistics.median(values), max(values))

    def format(self, digits: int) -> str:
        if self.low == self.high:
            return f"{self.median:.{digits}f}"
        return f"{self.low:.{digits}f} / **{self.median:.{digits}f}** / {self.high:.{digits}f}"


@dataclass(frozen=True)
class Row:
    """One line of the table. ``met`` compares the median with the target; None when there is
    no target (a figure given for context)."""

    measure: str
    size: str
    ours: Spread
    unit: str
    reference: Spread | None = None
    reference_name: str = ""
    ratio: Spread | None = None
    target: str = ""
    met: bool | None = None
    digits: int = 1
    note: str = ""


HEADER = ("| measure | size | ours | reference | ratio | target | met |\n"
          "|---|---|---|---|---|---|---|")


def markdown(rows: Sequence[Row]) -> str:
    lines = [HEADER]
    for row in rows:
        reference = (f"{row.reference.format(row.digits)} {row.unit} ({row.reference_name})"
                     if row.reference else "")
        ratio = f"{row.ratio.format(2)}x" if row.ratio else ""
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        measure = f"{row.measure} ({row.note})" if row.note else row.measure
        lines.append(f"| {measure} | {row.size} | {row.ours.format(row.digits)} {row.unit} | "
                     f"{reference} | {ratio} | {row.target} | {met} |")
    return "\n".join(lines)
