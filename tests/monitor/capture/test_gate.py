"""The decode gate's decisions, fed measured packet sizes and detection results directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.capture.gate import HOLD, MISS_PENALTY, DecodeGate, DecodeMode, OpenReason

T0 = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
STEP = timedelta(seconds=0.2)  # one analysed frame
ZONES = {"door": 0.02}


def feed(gate: DecodeGate, start: datetime, count: int, *, sizes: tuple[int, ...], changed: float,
         door: float = 0.0) -> datetime:
    """``count`` analysed frames, each after three P-frames of ``sizes`` and a keyframe now and then."""
    now = start
    for index in range(count):
        if index % 10 == 0:
            gate.note_packet(40_000, keyframe=True)
        for size in sizes:
            gate.note_packet(size, keyframe=False)
        now += STEP
        gate.observed(now, {"door": door}, changed)
    return now


def calibrated(gate: DecodeGate) -> datetime:
    now = feed(gate, T0, 40, sizes=(30, 35, 40), changed=0.0)
    now = feed(gate, now, 10, sizes=(900, 1500, 2000), changed=0.05)
    return feed(gate, now, 20, sizes=(30, 35, 40), changed=0.0)


def test_the_gate_closes_only_once_sizes_are_measured_and_the_picture_is_still() -> None:
    gate = DecodeGate(ZONES)
    now = feed(gate, T0, 5, sizes=(30, 35, 40), changed=0.0)
    assert gate.mode(now) is DecodeMode.CALIBRATING
    assert gate.close_now(now, zones_active=True, busy=False) is None
    now = calibrated(gate)
    assert gate.mode(now) is DecodeMode.DECODING and 40 < gate.threshold < 900
    assert gate.close_now(now, zones_active=True, busy=True) is None, "a clip or preview keeps it open"
    assert gate.close_now(now, zones_active=True, busy=False) is DecodeMode.IDLE
    assert gate.open_reason(35, keyframe=False, zones_active=True, busy=False) is None
    assert gate.open_reason(gate.threshold + 1, keyframe=False, zones_active=True, busy=False) is OpenReason.PACKET
    assert gate.open_reason(35, keyframe=False, zones_active=False, busy=False) is None
    assert gate.closed_mode is DecodeMode.OFF_SCHEDULE
    assert gate.open_reason(35, keyframe=False, zones_active=True, busy=False) is OpenReason.SCHEDULE


def test_no_zone_active_closes_at_once_even_while_calibrating() -> None:
    gate = DecodeGate(ZONES)
    now = feed(gate, T0, 2, sizes=(3000,), changed=0.2)
    assert gate.close_now(now, zones_active=False, busy=False) is DecodeMode.OFF_SCHEDULE
    assert gate.open_reason(50_000, keyframe=False, zones_active=False, busy=False) is None
    assert gate.open_reason(10, keyframe=False, zones_active=False, busy=True) is OpenReason.DEMAND


def test_motion_the_shut_gate_would_have_slept_through_means_full_decoding() -> None:
    gate = DecodeGate(ZONES)
    now = calibrated(gate)
    now = feed(gate, now, int(HOLD / STEP) + 2, sizes=(30, 35, 40), changed=0.0)
    # the door moves, yet no P-frame grew: the sizes do not show this kind of motion
    now = feed(gate, now, 1, sizes=(35, 38, 40), changed=0.01, door=0.05)
    assert gate.misses == 1 and gate.mode(now) is DecodeMode.FALLBACK
    assert gate.close_now(now + HOLD, zones_active=True, busy=False) is None
    later = feed(gate, now + MISS_PENALTY, 20, sizes=(30, 35, 40), changed=0.0)
    assert gate.mode(later) is DecodeMode.FALLBACK, "the missed stretch still counts against the sizes"
    later = feed(gate, later, 15, sizes=(900, 1500, 2000), changed=0.05)  # motion that did show
    later = feed(gate, later, 5, sizes=(30, 35, 40), changed=0.0)
    assert gate.mode(later) is DecodeMode.DECODING


def test_a_change_only_the_keyframe_check_saw_counts_as_a_miss() -> None:
    gate = DecodeGate(ZONES)
    now = calibrated(gate)
    assert gate.close_now(now, zones_active=True, busy=False) is DecodeMode.IDLE
    assert gate.peeked({"door": 0.001}) is None
    reason = gate.peeked({"door": 0.01})
    assert reason is OpenReason.KEYFRAME
    gate.opened(now, reason)
    assert gate.misses == 1 and gate.mode(now) is DecodeMode.FALLBACK


def test_sizes_that_do_not_grow_with_motion_are_not_trusted() -> None:
    """Constant bitrate: still and moving stretches weigh the same."""
    gate = DecodeGate(ZONES)
    now = feed(gate, T0, 40, sizes=(3300, 3400, 3350), changed=0.0)
    now = feed(gate, now, 10, sizes=(3350, 3400, 3300), changed=0.05)
    assert gate.mode(now) is DecodeMode.FALLBACK
    assert gate.close_now(now + HOLD, zones_active=True, busy=False) is None


def test_switched_off_it_never_closes_for_stillness() -> None:
    gate = DecodeGate(ZONES, idle_gate=False)
    now = calibrated(gate)
    assert gate.close_now(now + HOLD, zones_active=True, busy=False) is None
    assert gate.close_now(now, zones_active=False, busy=False) is DecodeMode.OFF_SCHEDULE
