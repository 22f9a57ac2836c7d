"""The benchmark's quick mode runs end to end, so the benchmark cannot rot.

It checks that the table has every row with plausible numbers, not that targets are met:
a shared two-core machine under test load says nothing about them.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SIZES = ("720p", "1080p")
ROWS = {
    "throughput: pipeline, detection, no event": SIZES,
    "throughput per CPU second: pipeline, detection, no event": SIZES,
    "throughput: pipeline, event recording": SIZES,
    "throughput per CPU second: pipeline, event recording": SIZES,
    "cameras held at 15 fps": SIZES,
    "worker peak RSS, 5 s pre-roll, recording": ("1080p",),
    "alert latency p50, onset -> SSE client": ("360p",),
    "alert latency p95, onset -> SSE client": ("360p",),
    "CPU ms per frame vs Motion": SIZES,
}
# plausible range of the first number in the "ours" cell, by unit
SANE = {"fps": (1.0, 5000.0), "cameras": (0.0, 1.0), "MB": (30.0, 2000.0), "s": (0.0, 5.0), "ms": (0.1, 500.0)}


def parse(table: str) -> list[dict[str, str]]:
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0] not in ("measure", "---") and not cells[0].startswith("-"):
            measure = re.sub(r" \(.*\)$", "", cells[0])
            rows.append({"measure": measure, "size": cells[1], "ours": cells[2], "reference": cells[3],
                         "ratio": cells[4]})
    return rows


def first_number(cell: str) -> float:
    found = re.search(r"-?\d+(\.\d+)?", cell.replace("**", ""))
    assert found, f"no number in {cell!r}"
    return float(found.group())


@pytest.mark.slow
@pytest.mark.footage
@pytest.mark.timeout(180)
def test_quick_benchmark_writes_every_row_with_sane_numbers(footage: Path, tmp_path: Path) -> None:
    if shutil.which("motion") is None:
        pytest.skip("the Motion daemon is not installed (apt-get install motion)")
    out = tmp_path / "quick.md"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=170, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = parse(out.read_text(encoding="utf-8"))
    found = {(row["measure"], row["size"]) for row in rows}
    expected = {(measure, size) for measure, sizes in ROWS.items() for size in sizes}
    assert expected <= found, f"missing rows: {sorted(expected - found)}"
    throughput = [row["reference"] for row in rows if row["measure"].startswith("throughput")]
    for reference in ("(decode only)", "(decode only, no deblocking)"):
        assert sum(cell.endswith(reference) for cell in throughput) == len(throughput) // 2, throughput
    for row in rows:
        unit = row["ours"].split()[-1]
        low, high = SANE[unit]
        value = first_number(row["ours"])
        assert math.isfinite(value) and low <= value <= high, row
        if row["ratio"]:
            assert 0.0 <= first_number(row["ratio"]) <= 100.0, row
