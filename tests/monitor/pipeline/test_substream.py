"""Detection on a detect substream, recording from the main stream, on one timeline.

Both streams are files of the same walks at 1280x720 and 640x360 with wall times ``start +
pts``, handed to the pipeline in wall-time order as the worker's stream readers do: events and
clips must be those of single-stream detection on the main stream, starts and ends within one
analysis interval; clips at the main stream's size; alert snapshots from the substream.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.capture import CapturedPacket, VideoSource
from monitor.config import load_config
from monitor.pipeline.camera import SWITCH_PATIENCE, CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from monitor.store.models import Alert, Clip
from monitor.workers.messages import SealedMessage
from tests.conftest import base_config, write_config
from tests.fixtures import scenes

MAIN, SUB = (1280, 720), (640, 360)
INTERVAL = timedelta(seconds=0.2)  # one analysis interval at 5 analysed frames a second
LOOP = 6.0
START = scenes.START


@pytest.fixture(scope="module")
def walks(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, int], Path]:
    folder = tmp_path_factory.mktemp("substream")
    return {size: scenes.walk_through(folder / f"walk-{size[0]}.mp4", seconds=LOOP, size=size, fps=15).path
            for size in (MAIN, SUB)}


def packets(source: VideoSource, until: datetime) -> Iterator[CapturedPacket]:
    for packet in source:
        if packet.wall_time >= until:
            return
        yield packet


class Run:
    """One camera over ``seconds`` of the looped walk; ``detect``: with the substream, and
    ``fallback_at`` seconds in, detection moves to the main stream (the substream failed)."""

    def __init__(self, folder: Path, walks: dict[tuple[int, int], Path], *, detect: bool,
                 fallback_at: float | None = None, seconds: float = 3 * LOOP) -> None:
        zone = {"id": "door", "polygon": [list(p) for p in scenes.ZONE], "min_area": 0.02}
        cam = {"id": "hall", "source": str(walks[MAIN]), "zones": [zone], "tamper": {"enabled": False},
               "recording": {"pre_roll": 1.0, "post_roll": 1.0}}
        if detect:
            cam["detect"] = {"source": str(walks[SUB])}
        folder.mkdir()
        config = load_config(write_config(folder, base_config(folder / "data", cameras=[cam])))
        self.runtime = Runtime.open(config)
        self.sealed: list[SealedMessage] = []
        until = START + timedelta(seconds=seconds)
        main = VideoSource(str(walks[MAIN]), loop=True, realtime=False, start=START).open()
        sub = VideoSource(str(walks[SUB]), loop=True, realtime=False, start=START).open() if detect else None
        pipeline = CameraPipeline(self.runtime, config.camera("hall"), StreamInfo.of(main), live_view=False,
                                  outbox=DatabaseOutbox(self.runtime, on_sealed=self.sealed.append),
                                  detect=StreamInfo.of(sub) if sub else None)
        merged = sorted([(p.wall_time, 0, n, p) for n, p in enumerate(packets(main, until))]
                        + ([(p.wall_time, 1, n, p) for n, p in enumerate(packets(sub, until))] if sub else []),
                        key=lambda item: item[:3])
        switch = START + timedelta(seconds=fallback_at) if fallback_at is not None else None
        self.recorded: list[tuple[datetime, bool]] = []  # main-stream packets only recorded: wall time, keyframe
        for wall, stream, _, packet in merged:
            if switch is not None and wall >= switch and pipeline.detects_on_substream:
                pipeline.detect_on_main()
            if stream == 1 and pipeline.detects_on_substream:
                pipeline.process(packet)
            elif stream == 0 and pipeline.detects_on_substream:
                self.recorded.append((wall, packet.keyframe))
                pipeline.record(packet)
            elif stream == 0:
                pipeline.process(packet)
        pipeline.close(until, reason="end_of_file")
        self.stats = pipeline.gate_stats(until)
        main.close()
        if sub is not None:
            sub.close()

    @property
    def events(self) -> list[tuple[datetime, datetime]]:
        return [(m.start, m.end) for m in self.sealed]

    def clip_sizes(self) -> list[tuple[int, int]]:
        with Session(self.runtime.engine) as session:
            return [(clip.width, clip.height) for clip in session.scalars(select(Clip).order_by(Clip.start))]

    def snapshot_sizes(self) -> set[tuple[int, int]]:
        with Session(self.runtime.engine) as session:
            paths = session.scalars(select(Alert.snapshot_path).where(Alert.kind == "motion")).all()
        sizes = set()
        for path in paths:
            image = cv2.imread(str(self.runtime.paths.root / (path or "")))
            assert image is not None, path
            sizes.add((image.shape[1], image.shape[0]))
        return sizes


def assert_same_events(reference: Run, run: Run) -> None:
    assert len(run.events) == len(reference.events) == 3, (reference.events, run.events)
    for (start, end), (other_start, other_end) in zip(reference.events, run.events, strict=True):
        assert abs(start - other_start) <= INTERVAL and abs(end - other_end) <= INTERVAL


def test_detecting_on_the_substream_gives_the_main_streams_events_and_clips(
    tmp_path: Path, walks: dict[tuple[int, int], Path],
) -> None:
    single = Run(tmp_path / "single", walks, detect=False)
    dual = Run(tmp_path / "dual", walks, detect=True)
    assert_same_events(single, dual)
    assert dual.clip_sizes() == single.clip_sizes()
    assert dual.clip_sizes()[0][0] > 0.3 * SUB[0], "clips are cut from the main stream's frames"
    assert single.snapshot_sizes() == {MAIN}
    assert dual.snapshot_sizes() == {SUB}


def test_detection_falls_back_to_the_main_stream_without_losing_an_event(
    tmp_path: Path, walks: dict[tuple[int, int], Path],
) -> None:
    """The substream fails between two walks (the figure left the picture at 4.8 s)."""
    single = Run(tmp_path / "single", walks, detect=False)
    fallback = Run(tmp_path / "fallback", walks, detect=True, fallback_at=LOOP + 5.5)
    assert_same_events(single, fallback)
    assert fallback.snapshot_sizes() == {MAIN, SUB}  # the first walk's from the substream


def test_a_substream_that_ended_still_records_from_the_main_stream(
    tmp_path: Path, walks: dict[tuple[int, int], Path],
) -> None:
    """Mid-walk the open clip goes on from the main stream: it ends, sealed, at main size."""
    switch = START + timedelta(seconds=LOOP + 4.0)
    fallback = Run(tmp_path / "fallback", walks, detect=True, fallback_at=LOOP + 4.0, seconds=2 * LOOP)
    assert len(fallback.sealed) == 2 and fallback.sealed[1].incomplete is None
    # the event itself (after the clip's 1 s pre-roll) began before the switch
    assert fallback.sealed[1].start + timedelta(seconds=1.0) < switch < fallback.sealed[1].end


def main_decodes(recorded: list[tuple[datetime, bool]], clip: SealedMessage) -> int:
    """The main-stream packets a clip's decoder takes while they are only recorded: from the
    keyframe at or before the clip's start (the pre-roll replay) to its end."""
    first = max(wall for wall, keyframe in recorded if keyframe and wall <= clip.start)
    return sum(1 for wall, _ in recorded if first <= wall <= clip.end)


def test_the_main_streams_decodes_are_counted_while_clips_record(
    tmp_path: Path, walks: dict[tuple[int, int], Path],
) -> None:
    """Without an event the main stream is only demuxed; with one, its clip's decoder decodes
    from the keyframe before the clip's start (the pre-roll replay) to the clip's end: exactly
    those of the main stream's packets in the feed."""
    still = Run(tmp_path / "still", walks, detect=True, seconds=1.0)
    assert not still.sealed and still.stats.main_packets == len(still.recorded) > 0
    assert still.stats.main_decoded == 0

    dual = Run(tmp_path / "dual", walks, detect=True)
    assert len(dual.sealed) == 3
    expected = sum(main_decodes(dual.recorded, clip) for clip in dual.sealed)
    assert dual.stats.main_packets == len(dual.recorded)
    assert dual.stats.main_decoded == expected, (dual.stats, expected, dual.sealed)
    assert 0 < dual.stats.main_decoded < dual.stats.main_packets

    # The second walk's clip opens at 9.4 s; at 10 s detection falls back to the main stream,
    # and from then on the clip's decoder is detection's, counted by the gate, not twice.
    fallback = Run(tmp_path / "fallback", walks, detect=True, fallback_at=LOOP + 4.0, seconds=2 * LOOP)
    opened, switch = fallback.sealed[1], START + timedelta(seconds=LOOP + 4.0)
    assert opened.start < switch < opened.end and fallback.recorded[-1][0] < switch
    assert fallback.stats.main_packets == len(fallback.recorded)
    assert fallback.stats.main_decoded == sum(main_decodes(fallback.recorded, clip) for clip in fallback.sealed)


def test_a_camera_without_a_substream_counts_no_main_stream_decodes(
    tmp_path: Path, walks: dict[tuple[int, int], Path],
) -> None:
    single = Run(tmp_path / "single", walks, detect=False, seconds=LOOP)
    assert single.stats.main_packets is None and single.stats.packets > 0


def test_a_picture_never_still_moves_to_the_substream_once_its_zones_are_quiet(tmp_path: Path) -> None:
    """Someone paces beside the hotspot all the time: the picture is never still, so detection
    would stay on the main stream for good. After ``SWITCH_PATIENCE`` of waiting, quiet zones
    let it move; the new background's ghost of the figure lies outside the zone and opens no
    event."""
    files = {size: scenes.walk_outside(tmp_path / f"pacing-{size[0]}.mp4", during=(0.0, 1.0), seconds=LOOP,
                                       size=size, fps=15).path for size in ((640, 360), (320, 180))}
    zone = {"id": "door", "polygon": [list(p) for p in scenes.ZONE], "min_area": 0.02}
    cam = {"id": "hall", "source": str(files[(640, 360)]), "zones": [zone], "tamper": {"enabled": False},
           "recording": {"pre_roll": 1.0, "post_roll": 1.0}, "detect": {"source": str(files[(320, 180)])}}
    config = load_config(write_config(tmp_path, base_config(tmp_path / "data", cameras=[cam])))
    sealed: list[SealedMessage] = []
    runtime = Runtime.open(config)
    main = VideoSource(str(files[(640, 360)]), loop=True, realtime=False, start=START).open()
    sub = VideoSource(str(files[(320, 180)]), loop=True, realtime=False, start=START).open()
    pipeline = CameraPipeline(runtime, config.camera("hall"), StreamInfo.of(main), live_view=False,
                              outbox=DatabaseOutbox(runtime, on_sealed=sealed.append))
    switched: datetime | None = None
    for packet in packets(main, START + SWITCH_PATIENCE + timedelta(seconds=LOOP)):
        pipeline.process(packet)
        waited = packet.wall_time - START
        assert not pipeline.can_switch(timedelta(0)), f"still at {waited}, with someone always moving?"
        if pipeline.can_switch(waited):
            switched = packet.wall_time
            break
    assert switched is not None and switched - START >= SWITCH_PATIENCE, switched
    pipeline.detect_on_substream(StreamInfo.of(sub))
    merged = sorted([(p.wall_time, 0, n, p) for n, p in enumerate(packets(main, switched + timedelta(seconds=8)))]
                    + [(p.wall_time, 1, n, p) for n, p in enumerate(packets(sub, switched + timedelta(seconds=8)))
                       if p.wall_time >= switched], key=lambda item: item[:3])
    for _, stream, _, packet in merged:
        if stream == 0:
            if packet.wall_time >= switched:
                pipeline.record(packet)
        else:
            pipeline.process(packet)
    pipeline.close(switched + timedelta(seconds=8), reason="end_of_file")
    assert sealed == [], "the switch's ghost opened an event"
    main.close()
    sub.close()
