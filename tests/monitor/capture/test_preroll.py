"""The packet pre-roll: GOP-aligned, bounded, and decodable into the very frames captured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from monitor.capture import CapturedPacket, PacketDecoder, PacketPreroll, VideoSource
from tests.monitor.capture.conftest import FPS, GOP

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def fake(second: float, *, keyframe: bool, size: int = 100) -> CapturedPacket:
    return CapturedPacket(av.Packet(size), T0 + timedelta(seconds=second), keyframe)


def window_after_second_keyframe(path: Path, length: int) -> list[CapturedPacket]:
    """``length`` captured packets from the stream's second keyframe on (mid-stream GOP)."""
    window: list[CapturedPacket] = []
    keyframes = 0
    with VideoSource(str(path), realtime=False, start=T0) as source:
        for item in source:
            keyframes += item.keyframe
            if keyframes >= 2:
                window.append(item)
            if len(window) == length:
                return window
    raise AssertionError(f"{path} is too short for this test")


def test_keeps_whole_gops_back_to_the_horizon() -> None:
    preroll = PacketPreroll(2.0)
    for tenth in range(100):  # 10 s, a keyframe every second
        preroll.push(fake(tenth / 10, keyframe=tenth % 10 == 0))
    kept = preroll.since(T0)
    assert kept[0].keyframe
    assert kept[0].wall_time == T0 + timedelta(seconds=7)  # newest keyframe at or before 9.9 - 2
    assert len(kept) == 30
    assert preroll.nbytes == 30 * 100


def test_since_starts_at_the_last_keyframe_at_or_before_t() -> None:
    preroll = PacketPreroll(10.0)
    for tenth in range(50):
        preroll.push(fake(tenth / 10, keyframe=tenth % 10 == 0))
    assert preroll.since(T0 + timedelta(seconds=2.5))[0].wall_time == T0 + timedelta(seconds=2)
    assert preroll.since(T0 + timedelta(seconds=3))[0].wall_time == T0 + timedelta(seconds=3)
    assert preroll.since(T0 - timedelta(seconds=60))[0].wall_time == T0  # older than kept: oldest


def test_packets_before_the_first_keyframe_and_empty_packets_are_not_kept() -> None:
    preroll = PacketPreroll(5.0)
    preroll.push(fake(0.0, keyframe=False))
    preroll.push(CapturedPacket(av.Packet(), T0, False))
    assert preroll.since(T0) == [] and preroll.nbytes == 0 and preroll.oldest is None


def test_byte_cap_drops_oldest_gops_then_waits_for_a_keyframe() -> None:
    preroll = PacketPreroll(60.0, max_bytes=2500)
    for tenth in range(40):
        preroll.push(fake(tenth / 10, keyframe=tenth % 10 == 0))
    assert preroll.nbytes <= 2500
    assert preroll.oldest == T0 + timedelta(seconds=2)
    assert preroll.dropped_gops == 2
    small = PacketPreroll(60.0, max_bytes=150)
    small.push(fake(0, keyframe=True))
    small.push(fake(0.1, keyframe=False))  # the only GOP outgrows the cap: dropped whole
    small.push(fake(0.2, keyframe=False))
    assert small.nbytes == 0
    small.push(fake(0.3, keyframe=True))
    assert small.nbytes == 100


def test_clear_and_bad_arguments() -> None:
    preroll = PacketPreroll(1.0)
    preroll.push(fake(0, keyframe=True))
    preroll.clear()
    assert preroll.nbytes == 0 and preroll.since(T0) == []
    with pytest.raises(ValueError, match="0 seconds or more"):
        PacketPreroll(-1)
    with pytest.raises(ValueError, match="byte cap"):
        PacketPreroll(1, max_bytes=0)


@pytest.mark.slow
def test_stays_bounded_over_a_long_looping_run(h264_mp4: Path) -> None:
    """Ten minutes of stream time: memory stays at a few GOPs and starts at a keyframe."""
    seconds = 1.0
    preroll = PacketPreroll(seconds)
    largest_key = 0
    peak = 0
    latest = T0
    with VideoSource(str(h264_mp4), loop=True, realtime=False, start=T0) as source:
        for count, item in enumerate(source):
            preroll.push(item)
            latest = max(latest, item.wall_time)
            kept = preroll.since(T0)
            assert kept[0].keyframe and all(not k.frames for k in kept)
            horizon = latest - timedelta(seconds=seconds)
            if latest - T0 > timedelta(seconds=seconds):
                assert kept[0].wall_time <= horizon
                later_keys = [k.wall_time for k in kept[1:] if k.keyframe]
                assert all(key > horizon for key in later_keys)  # nothing older than needed
            if item.keyframe:
                largest_key = max(largest_key, item.packet.size)
            peak = max(peak, preroll.nbytes)
            if count >= 600 * FPS:
                break
    frames_kept_at_most = seconds * FPS + GOP
    assert peak <= frames_kept_at_most * largest_key  # every packet is at most a keyframe's size
    assert len(preroll.since(T0)) <= frames_kept_at_most


@pytest.mark.parametrize(
    "clip",
    [
        "square",
        pytest.param("opencv-doc/vtest.avi", marks=pytest.mark.footage),
        pytest.param("bgslibrary/demo.avi", marks=pytest.mark.footage),
    ],
)
def test_decoding_the_preroll_reproduces_the_captured_frames(
    clip: str, h264_mp4: Path, request: pytest.FixtureRequest
) -> None:
    path = h264_mp4 if clip == "square" else request.getfixturevalue("footage") / clip
    window = window_after_second_keyframe(path, 40)
    preroll = PacketPreroll(3600.0)
    for item in window:
        preroll.push(item)
    with VideoSource(str(path), realtime=False, start=T0) as source:
        feed = PacketDecoder(source.new_decoder(), source=source.spec)
        buffered = preroll.since(window[0].wall_time)
        decoded = [frame for item in buffered for frame in feed.decode(item)]
    key_time = window[0].wall_time
    live = [frame for item in window for frame in item.frames if frame.wall_time >= key_time]
    assert decoded[0].wall_time == key_time
    assert [f.wall_time for f in decoded] == [
        f.wall_time for f in live
    ]  # joins without gap or repeat
    for ours, theirs in zip(decoded, live, strict=True):
        np.testing.assert_array_equal(ours.frame.to_ndarray(), theirs.frame.to_ndarray())
