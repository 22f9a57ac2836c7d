"""Invariants of the event state machine and the pts clock over arbitrary inputs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.models import RecordingSettings
from monitor.record import ClipRolled, EventClosed, EventOpened, EventTracker
from monitor.record.timestamps import TICKS_PER_SECOND, PtsClock

T0 = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)

steps = st.lists(
    st.tuples(st.floats(0.01, 30.0), st.sets(st.sampled_from(["door", "stairs"]), max_size=2)),
    max_size=200,
)
recordings = st.builds(
    RecordingSettings,
    pre_roll=st.floats(0, 60),
    post_roll=st.floats(0, 600),
    max_clip=st.floats(5, 3600),
)


@settings(max_examples=200, deadline=None)
@given(recording=recordings, script=steps)
def test_events_are_well_formed(
    recording: RecordingSettings, script: list[tuple[float, set[str]]]
) -> None:
    tracker = EventTracker(recording, "cam")
    now = T0
    records: list[EventOpened | ClipRolled | EventClosed] = []
    for gap, zones in script:
        now += timedelta(seconds=gap)
        records.extend(tracker.update(now, tuple(sorted(zones)), 0.5 if zones else 0.0))
    records.extend(tracker.close(now + timedelta(seconds=1), "shutdown"))
    open_event: str | None = None
    clip_id = ""
    clip_start = previous_end = T0 - timedelta(days=1)
    for record in records:
        if isinstance(record, EventOpened):
            assert open_event is None
            open_event, clip_id, clip_start = record.event_id, record.clip_id, record.start
            assert record.start <= record.trigger_time
            assert record.start >= previous_end  # no footage recorded twice
        elif isinstance(record, ClipRolled):
            assert record.event_id == open_event and record.closed_clip_id == clip_id
            assert record.at - clip_start >= timedelta(seconds=recording.max_clip)
            clip_id, clip_start = record.clip_id, record.at
        else:
            assert isinstance(record, EventClosed)
            assert record.event_id == open_event and record.clip_id == clip_id
            assert record.end >= clip_start and record.zones
            open_event, previous_end = None, record.end
    assert open_event is None and not tracker.active


@settings(max_examples=300, deadline=None)
@given(
    fps=st.floats(1, 120),
    offsets=st.lists(st.floats(-86400, 86400, allow_nan=False), min_size=1, max_size=300),
)
def test_pts_always_rise_and_never_leap(fps: float, offsets: list[float]) -> None:
    clock = PtsClock(fps)
    stamps = [clock.pts(T0 + timedelta(seconds=offset)) for offset in offsets]
    assert stamps[0] == 0
    assert all(later > earlier for earlier, later in itertools.pairwise(stamps))
    assert all(b - a <= clock.jump_ticks for a, b in itertools.pairwise(stamps))
    assert stamps[-1] <= len(stamps) * max(clock.jump_ticks, TICKS_PER_SECOND)
