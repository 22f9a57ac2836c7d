"""The evidence benchmark still runs end to end (quick mode) and reports every measure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_verify_bench_quick_reports_throughput_and_seal_latency() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "verify_bench.py"), "--quick", "--json"],
                            check=False, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert result.returncode == 0, result.stderr
    rows = {row["measure"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"verify_store (whole store)", "sha256_file (one file)", "clip close -> seal committed"}
    for row in rows.values():
        assert row["ours"]["low"] > 0 and row["reference"]["low"] > 0
    for name in ("verify_store (whole store)", "sha256_file (one file)"):
        ratio = rows[name]["ratio"]["median"]
        assert ratio == pytest.approx(rows[name]["ours"]["median"] / rows[name]["reference"]["median"], rel=1e-6)
    assert rows["clip close -> seal committed"]["ours"]["high"] < 5.0
