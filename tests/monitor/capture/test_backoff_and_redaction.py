"""Reconnect delays and credential redaction."""

from __future__ import annotations

import random

import pytest

from monitor.capture import Backoff, redact


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 5.0, jitter=0.2, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(12)]
    for attempt, delay in enumerate(delays[:4]):
        nominal = 0.5 * 2**attempt
        assert nominal * 0.8 <= delay <= nominal
    assert all(delay <= 5.0 for delay in delays)
    assert all(delay >= 4.0 for delay in delays[5:])
    assert len(set(delays)) == len(delays)  # jittered, not lockstep


def test_backoff_reset_starts_over_and_never_overflows() -> None:
    backoff = Backoff(0.5, 10.0, jitter=0.0)
    for _ in range(5000):
        backoff.next_delay()
    assert backoff.next_delay() == 10.0
    backoff.reset()
    assert backoff.next_delay() == 0.5


@pytest.mark.parametrize(
    ("initial", "cap", "jitter"), [(0, 1, 0.1), (2, 1, 0.1), (0.5, 1, 1.0), (0.5, 1, -0.1)]
)
def test_backoff_refuses_nonsense(initial: float, cap: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(initial, cap, jitter=jitter)


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ("rtsp://admin:hunter2@10.0.0.5:554/stream1", "rtsp://***@10.0.0.5:554/stream1"),
        ("rtsp://admin@cam/s", "rtsp://***@cam/s"),
        ("https://cam/video?user=x&password=hunter2", "https://cam/video?user=x&password=***"),
        ("http://cam/mjpg?token=hunter2&res=hd", "http://cam/mjpg?token=***&res=hd"),
        ("/srv/video/demo.mp4", "/srv/video/demo.mp4"),
        ("/dev/video0", "/dev/video0"),
    ],
)
def test_redact_hides_credentials(spec: str, shown: str) -> None:
    assert redact(spec) == shown
    assert "hunter2" not in redact(spec)
