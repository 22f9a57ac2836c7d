"""The soak benchmark's quick mode, end to end: real footage over RTSP, real workers, verify."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.reliability.conftest import gst_rtsp_available

pytestmark = [pytest.mark.slow, pytest.mark.rtsp, pytest.mark.footage]


def test_quick_soak_records_seals_and_verifies(tmp_path: Path, footage: Path) -> None:
    if not gst_rtsp_available():
        pytest.skip("GStreamer RTSP server missing: apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi")
    result_file = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--quick", "--out", str(tmp_path / "site"),
         "--json", str(result_file)],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    result = json.loads(result_file.read_text())
    workers = {w["camera"]: w for w in result["workers"]}
    assert set(workers) == {"walkway", "room", "parking"}
    for worker in workers.values():
        assert worker["samples"] >= 10 and worker["pids"] == 1, worker
        assert 20 < worker["rss_max_mb"] < 400, worker
    assert all(s["state"] == "online" and s["restarts"] == 0 for s in result["statuses"].values())
    assert sum(result["events"].values()) >= 2 and sum(result["sealed"].values()) >= 2
    assert result["unsealed"] == 0 and result["verify_exit"] == 0
    assert result["verify"]["ok"] is True
    assert "| walkway |" in run.stdout
