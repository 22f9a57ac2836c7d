"""How a pipeline opens a clip: the alert first, then the pre-roll; and while the clip
records, detection reads the clip's full-quality decoder and the source stops decoding;
after the event the source takes decoding back at a keyframe.

The reference is the same pipeline with a source that never hands over, which decodes every
packet twice during a clip as workers used to: the clips must be the same bytes, and
detection must see every frame of the file either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import av
import pytest

from monitor.capture import CapturedPacket, SourceEnded, SourceUnavailable, VideoSource
from monitor.config import Config, load_config
from monitor.demo.scene import Walker
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from monitor.workers.messages import AlertMessage, SealedMessage
from tests.conftest import base_config, write_config
from tests.fixtures import media, scenes

START = datetime.fromisoformat("2026-11-23T16:05:00-06:00")  # after hours in Chicago
FPS = 15


class DecodesEverything(VideoSource):
    """A source that keeps decoding beside the clip's decoder."""

    def hand_over_decoding(self) -> None:
        pass

    def take_back_decoding(self) -> None:
        pass


@pytest.fixture(scope="module")
def two_visits(tmp_path_factory: pytest.TempPathFactory) -> scenes.Scene:
    """Two figures cross the hotspot 8 s apart; the file's keyframes are 2 s apart."""
    row = 0.3 + 0.45 + 0.45 * scenes.FIGURE_HEIGHT / 2
    path = tmp_path_factory.mktemp("handover") / "two-visits.mp4"
    walkers = [Walker(((-0.1, row), (1.1, row)), start, start + 3.0, height=scenes.FIGURE_HEIGHT)
               for start in (1.0, 9.0)]
    return scenes.render(path, walkers, {"zone": scenes.ZONE}, seconds=15, fps=FPS, size=(320, 240))


@pytest.fixture(scope="module")
def two_visits_b_frames(two_visits: scenes.Scene) -> scenes.Scene:
    """The same scene with B-frames, so decoders hold frames back for reordering."""
    path = two_visits.path.with_name("two-visits-b.mp4")
    with av.open(str(two_visits.path)) as source:
        images = [frame.to_ndarray(format="rgb24") for frame in source.decode(video=0)]
    media.write_video(path, images, fps=FPS, gop=2 * FPS, options={"bf": "2", "preset": "veryfast"})
    return scenes.Scene(path, two_visits.style, two_visits.walkers, two_visits.polygons, two_visits.coverage)


def site(folder: Path, scene: scenes.Scene, *, pre_roll: float = 1.0) -> Config:
    """Camera "hall" watching the scene's zone, its storage in ``folder`` (created)."""
    zone = {"id": "door", "polygon": [list(p) for p in scene.polygons["zone"]], "min_area": 0.02}
    camera = {"id": "hall", "source": str(scene.path), "zones": [zone],
              "recording": {"pre_roll": pre_roll, "post_roll": 1.0, "max_clip": 60},
              "detection": {"idle_gate": False}}  # every frame decoded: test_decode_gate gates
    folder.mkdir()
    return load_config(write_config(folder, base_config(folder / "data", cameras=[camera])))


def run(
    folder: Path, scene: scenes.Scene, source_type: type[VideoSource] = VideoSource, *,
    pre_roll: float = 1.0, on_alert: Callable[[AlertMessage], None] | None = None,
) -> tuple[list[SealedMessage], int, list[tuple[datetime, bool]]]:
    """Sealed clips, frames analysed, and each packet's (wall time, decoded by the source)."""
    config = site(folder, scene, pre_roll=pre_roll)
    runtime = Runtime.open(config)
    sealed: list[SealedMessage] = []
    packets: list[tuple[datetime, bool]] = []
    analysed = 0
    try:
        with source_type(str(scene.path), realtime=False, start=START, skip_loop_filter=True) as source:
            pipeline = CameraPipeline(runtime, config.camera("hall"), StreamInfo.of(source),
                                      live_view=False,
                                      outbox=DatabaseOutbox(runtime, on_sealed=sealed.append, on_alert=on_alert))
            last = START
            with contextlib.suppress(SourceEnded):
                for packet in source:
                    frames = pipeline.process(packet)
                    packets.append((packet.wall_time, packet.decoded))
                    analysed += len(frames)
                    last = frames[-1].wall_time if frames else last
            pipeline.close(last, reason="end_of_file")
    finally:
        runtime.close()
    return sealed, analysed, packets


@pytest.mark.parametrize("b_frames", [False, True], ids=["no-b-frames", "b-frames"])
def test_clips_and_detection_are_unchanged_when_the_clip_decoder_takes_over(
    tmp_path: Path, request: pytest.FixtureRequest, b_frames: bool,
) -> None:
    scene: scenes.Scene = request.getfixturevalue("two_visits_b_frames" if b_frames else "two_visits")
    with av.open(str(scene.path)) as container:
        total = sum(1 for _ in container.decode(video=0))
        assert (container.streams.video[0].codec_context.has_b_frames > 0) == b_frames

    sealed, analysed, packets = run(tmp_path / "handover", scene)
    reference, reference_analysed, reference_packets = run(tmp_path / "two", scene, DecodesEverything)

    assert analysed == reference_analysed == total, "detection must see every frame"
    assert len(sealed) == 2, sealed
    assert [(m.start, m.end, m.sha256) for m in sealed] == [
        (m.start, m.end, m.sha256) for m in reference
    ], "a clip must be the same bytes whichever decoder feeds detection"
    assert all(decoded for _, decoded in reference_packets)

    undecoded = [when for when, decoded in packets if not decoded]
    gop = timedelta(seconds=2)
    for when in undecoded:  # the source rests only from a clip's start to the keyframe after it
        assert any(clip.start <= when <= clip.end + gop for clip in sealed), when
    for clip in sealed:  # ... and does rest during every clip
        inside = [when for when, decoded in packets if clip.start + gop <= when <= clip.end]
        assert inside and not any(decoded for when, decoded in packets if when in inside), clip
    between = [when for when, decoded in packets if decoded and sealed[0].end < when < sealed[1].start]
    assert between, "the source takes decoding back between the events"


def test_the_alert_goes_out_before_the_pre_roll_is_encoded(tmp_path: Path, two_visits: scenes.Scene) -> None:
    """Replaying 5 s of 1080p pre-roll into the encoder takes over a second; the alert must
    not wait for it. Clips are fragmented MP4 with a fragment a second: when the alert is
    committed the clip file holds no fragment yet, and 3 s of pre-roll make several."""
    clips = tmp_path / "site" / "data" / "clips"
    fragments_at_alert: list[int] = []

    def count_fragments(alert: AlertMessage) -> None:
        if alert.kind == "motion":
            (written,) = [p for p in clips.rglob("*.mp4") if p.stem not in seen]
            seen.add(written.stem)
            fragments_at_alert.append(written.read_bytes().count(b"moof"))

    seen: set[str] = set()
    sealed, _, _ = run(tmp_path / "site", two_visits, pre_roll=3.0, on_alert=count_fragments)
    assert len(sealed) == 2 and fragments_at_alert == [0, 0], fragments_at_alert
    assert all(Path(m.path).read_bytes().count(b"moof") >= 4 for m in sealed)


def test_a_stream_gone_bad_while_the_clip_decodes_is_reported_as_the_source_would(
    tmp_path: Path, two_visits: scenes.Scene,
) -> None:
    """The source does not decode while it has handed over, so the clip's decoder must be the
    one to give up on a stream whose every packet is rejected: the worker then seals the clip
    and reconnects, as it does when the source raises."""
    config = site(tmp_path / "site", two_visits)
    runtime = Runtime.open(config)
    sealed: list[SealedMessage] = []
    try:
        with VideoSource(str(two_visits.path), realtime=False, start=START, skip_loop_filter=True) as source:
            pipeline = CameraPipeline(runtime, config.camera("hall"), StreamInfo.of(source), live_view=False,
                                      outbox=DatabaseOutbox(runtime, on_sealed=sealed.append))
            packet = next(source)
            while packet.decoded:
                pipeline.process(packet)
                packet = next(source)
            garbage = av.Packet(bytes(range(256)) * 8)
            with pytest.raises(SourceUnavailable, match="rejected 100 packets in a row"):
                for step in range(200):
                    pipeline.process(CapturedPacket(garbage, packet.wall_time + timedelta(seconds=step / FPS),
                                                    False, decoded=False))
            assert step == 99
            pipeline.close(packet.wall_time, reason="stream lost")
    finally:
        runtime.close()
    assert len(sealed) == 1 and sealed[0].incomplete == "stream lost", sealed
