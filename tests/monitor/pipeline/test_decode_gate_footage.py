"""The idle gate on every shared file: the same events and clip boundaries as full decoding
(starts and ends within one analysis interval). About a minute: ``bench/gate_recall.py``
prints the same comparison as a table, with the share of frames decoded."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bench.gate_recall import FILES, analyze, compare, config_data

INTERVAL = timedelta(seconds=0.2)  # one analysis interval at the default 5 analysed frames a second


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_shared_footage_events_are_those_of_full_decoding(tmp_path: Path, footage: Path, name: str) -> None:
    source = footage / name
    full = analyze(tmp_path / "full", config_data(tmp_path / "full/data", source, idle_gate=False), source)
    gated = analyze(tmp_path / "gate", config_data(tmp_path / "gate/data", source, idle_gate=True), source)
    matched, extra, problems = compare(full, gated, INTERVAL)
    assert (matched, extra) == (len(full.events), 0), problems
    for (start, end), (gated_start, gated_end) in zip(full.events, gated.events, strict=True):
        assert abs(start - gated_start) <= INTERVAL and abs(end - gated_end) <= INTERVAL, name
