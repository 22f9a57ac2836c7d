"""The log-integrity benchmark still runs end to end (quick mode) and reports every measure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_log_bench_quick_reports_seal_latency_and_bundle_throughput() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "log_bench.py"), "--quick", "--json"],
                            check=False, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert result.returncode == 0, result.stderr
    rows = {row["measure"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"clip close -> seal + witnessed checkpoint", "clip close -> RFC 3161 token stored",
                         "verify_bundle (proofs + token)"}
    assert 0 < rows["clip close -> seal + witnessed checkpoint"]["ours"]["high"] < 5.0
    stamped = rows["clip close -> RFC 3161 token stored"]["ours"]
    assert stamped["low"] >= rows["clip close -> seal + witnessed checkpoint"]["ours"]["low"]
    bundle = rows["verify_bundle (proofs + token)"]
    assert bundle["ratio"]["median"] == pytest.approx(bundle["ours"]["median"] / bundle["reference"]["median"],
                                                      rel=1e-6)
