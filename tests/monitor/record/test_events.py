"""The event state machine, with exact times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.models import RecordingSettings
from monitor.record import ClipRolled, EventClosed, EventOpened, EventTracker

T0 = datetime(2026, 10, 6, 21, 0, tzinfo=UTC)
SETTINGS = RecordingSettings(pre_roll=5, post_roll=10, max_clip=30)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(tracker: EventTracker, script: Sequence[tuple[float, tuple[str, ...]]]) -> list[object]:
    records: list[object] = []
    for second, zones in script:
        records.extend(tracker.update(at(second), zones, 0.5 if zones else 0.0))
    return records


def test_first_motion_opens_with_pre_roll() -> None:
    tracker = EventTracker(SETTINGS, "east-stairwell")
    assert tracker.update(at(0), (), 0.0) == []
    [opened] = tracker.update(at(1), ("landing",), 0.12)
    assert isinstance(opened, EventOpened)
    assert (opened.start, opened.trigger_time, opened.zones, opened.score, opened.part) == (
        at(-4),
        at(1),
        ("landing",),
        0.12,
        1,
    )
    assert len(opened.event_id) == 32 and opened.event_id != opened.clip_id
    assert tracker.active and tracker.clip_id == opened.clip_id


def test_motion_within_post_roll_extends_then_quiet_closes_exactly() -> None:
    tracker = EventTracker(RecordingSettings(pre_roll=5, post_roll=10, max_clip=300), "cam")
    records = run(tracker, [(0, ("a",)), (4, ()), (8, ("b",)), (12, ()), (17.5, ("a",))])
    assert [type(r) for r in records] == [EventOpened]  # 17.5 is within 10 s of the motion at 8
    assert tracker.update(at(27.5), (), 0.0) == []  # exactly last motion + post-roll: still open
    [closed] = tracker.update(at(27.6), (), 0.0)
    assert isinstance(closed, EventClosed)
    assert closed.end == at(27.5) and closed.reason == "post_roll"
    assert isinstance(records[0], EventOpened)
    assert closed.zones == ("a", "b") and closed.event_id == records[0].event_id
    assert not tracker.active


def test_late_update_closes_at_last_motion_plus_post_roll() -> None:
    tracker = EventTracker(SETTINGS, "cam")
    run(tracker, [(0, ("a",))])
    [closed] = tracker.update(at(300), (), 0.0)
    assert isinstance(closed, EventClosed) and closed.end == at(10)


def test_long_event_rolls_into_consecutive_clips() -> None:
    tracker = EventTracker(SETTINGS, "cam")
    script = [(second, ("a",)) for second in range(70)]
    records = run(tracker, script)
    opened, first, second = records
    assert isinstance(opened, EventOpened) and opened.start == at(-5)
    assert isinstance(first, ClipRolled) and isinstance(second, ClipRolled)
    assert (first.at, first.part, first.closed_clip_id) == (at(25), 2, opened.clip_id)
    assert (second.at, second.part, second.closed_clip_id) == (at(55), 3, first.clip_id)
    assert {opened.event_id, first.event_id, second.event_id} == {opened.event_id}
    [closed] = tracker.update(at(80), (), 0.0)
    assert (
        isinstance(closed, EventClosed)
        and closed.clip_id == second.clip_id
        and closed.end == at(79)
    )


def test_new_event_after_close_does_not_reuse_previous_footage() -> None:
    tracker = EventTracker(SETTINGS, "cam")
    run(tracker, [(0, ("a",))])
    closed, reopened = tracker.update(at(12), ("a",), 0.3)
    assert isinstance(closed, EventClosed) and closed.end == at(10)
    assert isinstance(reopened, EventOpened) and reopened.start == at(10)
    assert reopened.event_id != closed.event_id


def test_close_for_stream_loss_or_shutdown() -> None:
    tracker = EventTracker(SETTINGS, "cam")
    assert tracker.close(at(0), "stream_lost") == []
    run(tracker, [(0, ("a",))])
    [closed] = tracker.close(at(3), "stream_lost")
    assert (
        isinstance(closed, EventClosed) and closed.end == at(3) and closed.reason == "stream_lost"
    )
    run(tracker, [(20, ("a",))])
    [late] = tracker.close(at(45))
    assert isinstance(late, EventClosed) and late.end == at(30) and late.reason == "post_roll"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EventTracker(SETTINGS, "cam").update(datetime(2026, 1, 1), ("a",), 1.0)
