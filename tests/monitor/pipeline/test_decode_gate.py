"""The schedule gate and the idle gate: decode less, and never lose an event for it.

The reference is full decoding of the same file through the same pipeline (``idle_gate:
false``, or a gate that never closes for the schedule); clips and events must match it: the
same events, starts and ends within one analysis interval.
"""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from ruamel.yaml import YAML

from bench.gate_recall import START, analyze, compare, config_data
from monitor.capture import CapturedPacket, PacketPreroll, VideoSource
from monitor.capture.gate import DecodeGate, DecodeMode, GateStats, OpenReason
from monitor.config import load_config
from monitor.demo.scene import Walker
from monitor.pipeline import preview_requests
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.service.routers.cameras import camera_statuses
from monitor.site.runtime import Runtime
from monitor.workers.camera_worker import Reporter
from monitor.workers.messages import DECODE_MODES, StatusMessage
from monitor.workers.supervisor import CameraStatus
from tests.fixtures import scenes

INTERVAL = timedelta(seconds=0.2)  # one analysis interval at the default 5 analysed frames a second
FPS = 15
ZONE = [[0.55, 0.3], [0.85, 0.3], [0.85, 0.95], [0.55, 0.95]]


def crossings(path: Path, starts: tuple[float, ...], *, seconds: float, outside: float | None = None) -> Path:
    """Figures cross the zone at ``starts`` (3 s each); the rest of the time the hall is still.
    ``outside``: one more figure walks in the left third only, from then on for 3 s."""
    row = 0.3 + 0.45 + 0.45 * scenes.FIGURE_HEIGHT / 2
    walkers = [Walker(((-0.1, row), (1.1, row)), t, t + 3.0, height=scenes.FIGURE_HEIGHT) for t in starts]
    if outside is not None:
        walkers.append(Walker(((0.05, row), (0.3, row)), outside, outside + 3.0, height=scenes.FIGURE_HEIGHT))
    scenes.render(path, walkers, {"zone": scenes.ZONE}, seconds=seconds, fps=FPS, size=(320, 240), noise=1.0)
    return path


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minute of a still hall crossed three times, with a figure outside the zone once."""
    return crossings(tmp_path_factory.mktemp("gate") / "hall.mp4", (4.0, 24.0, 44.0), seconds=60, outside=34.0)


def camera(**overrides: object) -> dict[str, object]:
    return {"zones": [{"id": "door", "polygon": ZONE, "min_area": 0.02}], **overrides}


def test_idle_gate_decodes_a_fraction_and_keeps_every_event(tmp_path: Path, hall: Path) -> None:
    full = analyze(tmp_path / "full", config_data(tmp_path / "full/data", hall, idle_gate=False, **camera()), hall)
    gated = analyze(tmp_path / "gate", config_data(tmp_path / "gate/data", hall, idle_gate=True, **camera()), hall)
    assert len(full.events) == 3, full.events
    matched, extra, problems = compare(full, gated, INTERVAL)
    assert (matched, extra) == (3, 0), problems
    for (start, end), (gated_start, gated_end) in zip(full.events, gated.events, strict=True):
        assert abs(start - gated_start) <= INTERVAL and abs(end - gated_end) <= INTERVAL
    assert full.stats.decoded_fraction >= 1.0
    assert gated.stats.openings >= 3 and gated.stats.misses == 0, gated.stats
    assert gated.stats.decoded_fraction < 0.7, gated.stats


def test_noisy_night_stream_is_recognised_and_decoded_in_full(tmp_path: Path) -> None:
    """Sensor noise makes every P-frame large, still or not: sizes do not track motion there,
    and the gate must find that out by measuring, then decode everything."""
    row = 0.3 + 0.45 + 0.45 * scenes.FIGURE_HEIGHT / 2
    walkers = [Walker(((-0.1, row), (1.1, row)), t, t + 3.0, height=scenes.FIGURE_HEIGHT) for t in (4.0, 16.0)]
    night = scenes.render(tmp_path / "night.mp4", walkers, {"zone": scenes.ZONE}, seconds=30, fps=FPS,
                          size=(320, 240), noise=6.0).path
    full = analyze(tmp_path / "full", config_data(tmp_path / "full/data", night, idle_gate=False, **camera()), night)
    gated = analyze(tmp_path / "gate", config_data(tmp_path / "gate/data", night, idle_gate=True, **camera()), night)
    matched, extra, problems = compare(full, gated, INTERVAL)
    assert (matched, extra) == (len(full.events), 0) and len(full.events) == 2, problems
    assert gated.stats.mode is DecodeMode.FALLBACK, gated.stats
    assert gated.stats.decoded_fraction >= 1.0 and gated.stats.openings == 0, gated.stats


def test_schedule_gate_demuxes_only_until_the_zone_turns_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The zone's schedule starts at 16:05 and the file at 16:04:50: a crossing before the
    boundary must not count, one after it must start as with full decoding. Decoding starts by
    replaying the pre-roll from its last keyframe, so the worst-case delay is the time to
    decode one GOP, not one GOP of footage."""
    video = crossings(tmp_path / "boundary.mp4", (2.0, 11.0), seconds=20)
    begin = datetime.fromisoformat("2026-11-23T16:04:50-06:00")
    schedules = {"evening": {"windows": [{"days": ["mon"], "from": "16:05", "to": "23:00"}]}}
    zones = [{"id": "door", "polygon": ZONE, "min_area": 0.02, "schedule": "evening"}]

    def run(name: str) -> tuple[list[tuple[datetime, datetime]], float]:
        data = config_data(tmp_path / name / "data", video, idle_gate=False, zones=zones, schedules=schedules)
        result = analyze(tmp_path / name, data, video, start=begin)
        return result.events, result.stats.decoded_fraction

    gated, fraction = run("gate")
    with monkeypatch.context() as patch:
        patch.setattr(DecodeGate, "close_now", lambda *_args, **_kwargs: None)
        full, full_fraction = run("full")
    assert len(full) == 1 and full[0][0] > begin + timedelta(seconds=10), full
    assert len(gated) == 1, gated
    assert abs(gated[0][0] - full[0][0]) <= INTERVAL and abs(gated[0][1] - full[0][1]) <= INTERVAL
    assert full_fraction >= 1.0
    # 10 s of 20 lie before the boundary: nearly none of them decoded
    assert fraction < 0.6, fraction


def test_worker_status_reports_the_mode_and_the_share_decoded_over_its_interval() -> None:
    messages: queue.Queue[StatusMessage] = queue.Queue()
    reporter = Reporter("hall", messages)  # type: ignore[arg-type]  # put_nowait is all it uses
    now = datetime.now(UTC)
    reporter._since -= 2  # each interval is over at once
    reporter.frames(1, now, lambda _now: GateStats(DecodeMode.DECODING, packets=100, decoded=100, openings=0, misses=0))
    assert messages.get_nowait().decoded_fraction == 1.0
    reporter._since -= 2
    reporter.frames(1, now, lambda _now: GateStats(DecodeMode.IDLE, packets=200, decoded=110, openings=1, misses=0))
    status = messages.get_nowait()
    assert (status.decode_mode, status.decoded_fraction) == ("idle", 0.1)
    assert status.decode_mode in DECODE_MODES and set(DECODE_MODES) == {str(mode) for mode in DecodeMode}
    assert status.main_decoded_fraction is None  # no detect substream


def test_worker_status_reports_the_main_streams_share_decoded_over_its_interval() -> None:
    """With a detect substream: the main stream's decodes per packet in each interval; in an
    interval where detection read the main stream itself (no main packet only recorded), the
    gate's figure, which counted them."""
    messages: queue.Queue[StatusMessage] = queue.Queue()
    reporter = Reporter("hall", messages)  # type: ignore[arg-type]  # put_nowait is all it uses
    now = datetime.now(UTC)
    for packets, decoded, main_packets, main_decoded, expected in (
        (15, 15, 15, 0, 0.0), (30, 30, 30, 15, 1.0), (45, 45, 45, 20, 0.333), (60, 55, 45, 20, 0.667),
    ):
        reporter._since -= 2  # each interval is over at once
        reporter.frames(1, now, lambda _now, p=packets, d=decoded, mp=main_packets, md=main_decoded: GateStats(
            DecodeMode.DECODING, p, d, openings=0, misses=0, main_packets=mp, main_decoded=md))
        assert messages.get_nowait().main_decoded_fraction == expected


def test_a_preview_request_opens_a_gate_closed_by_schedule(tmp_path: Path, hall: Path) -> None:
    """Nothing is decoded off-schedule until someone opens the live view; then frames come."""
    schedules = {"never": {"windows": [{"days": ["sun"], "from": "03:00", "to": "03:30"}]}}
    zones = [{"id": "door", "polygon": ZONE, "min_area": 0.02, "schedule": "never"}]
    data = config_data(tmp_path / "data", hall, idle_gate=True, zones=zones, schedules=schedules)
    config = load_config(_written(tmp_path, data))
    runtime = Runtime.open(config)
    paths = runtime.paths
    try:
        with VideoSource(str(hall), realtime=False, start=START, skip_loop_filter=True) as source:
            pipeline = CameraPipeline(runtime, config.cameras[0], StreamInfo.of(source), outbox=DatabaseOutbox(runtime))
            before = [pipeline.process(next(source)) for _ in range(60)]
            stats = pipeline.gate_stats(START)
            assert stats.mode is DecodeMode.OFF_SCHEDULE and stats.decoded <= 2, stats
            assert not paths.preview_file("cam", "live").exists() and not any(before[5:])
            request = paths.preview_request_file("cam", "live")
            request.parent.mkdir(parents=True, exist_ok=True)
            request.touch()
            time.sleep(preview_requests.CHECK_PERIOD)  # the pipeline looks at requests once a second
            after = [pipeline.process(next(source)) for _ in range(30)]
            assert all(after) and pipeline.gate_stats(START).mode is not DecodeMode.OFF_SCHEDULE
            assert paths.preview_file("cam", "live").stat().st_size > 0
    finally:
        runtime.close()


def test_camera_status_rows_carry_the_mode_and_the_share_decoded(tmp_path: Path, hall: Path) -> None:
    config = load_config(_written(tmp_path, config_data(tmp_path / "data", hall, idle_gate=True, **camera())))
    status = CameraStatus("cam", "online", fps=15.0, decode_mode="idle", decoded_fraction=0.07)
    state = SimpleNamespace(config=config, supervisor=SimpleNamespace(statuses=lambda: {"cam": status}))
    (row,) = camera_statuses(state)  # type: ignore[arg-type]  # reads only these two attributes
    assert (row["decode_mode"], row["decoded_fraction"]) == ("idle", 0.07)


def _written(folder: Path, data: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "cameras.yaml").open("w", encoding="utf-8") as handle:
        YAML().dump(data, handle)
    return folder / "cameras.yaml"


def test_opening_the_gate_replays_from_the_last_keyframe_only(
    tmp_path: Path, hall: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What delays an alert when the gate opens is the replay: it starts at the pre-roll's last
    keyframe before the opening packet (at most one GOP), never further back."""
    replays: list[list[CapturedPacket]] = []
    opening = False
    open_gate, since = CameraPipeline._open_gate, PacketPreroll.since

    def opened(self: CameraPipeline, packet: CapturedPacket, reason: OpenReason, since_: datetime) -> object:
        nonlocal opening
        opening = reason is not OpenReason.KEYFRAME  # that one replays from the keyframe checked before
        try:
            return open_gate(self, packet, reason, since_)
        finally:
            opening = False

    def replayed(self: PacketPreroll, t: datetime) -> list[CapturedPacket]:
        packets = since(self, t)
        if opening:
            replays.append(packets)
        return packets

    monkeypatch.setattr(CameraPipeline, "_open_gate", opened)
    monkeypatch.setattr(PacketPreroll, "since", replayed)
    gated = analyze(tmp_path / "gate", config_data(tmp_path / "gate/data", hall, idle_gate=True, **camera()), hall)
    assert gated.stats.openings >= 3 and len(replays) >= 3, (gated.stats, len(replays))
    for packets in replays:
        assert packets and packets[0].keyframe, "a replay starts at a keyframe"
        assert not any(item.keyframe for item in packets[1:]), "and at the last one: one GOP at most"
