"""The original of a clip recorded from a real RTSP camera holds the camera's own bitstream.

Over RTSP the H.264 access units arrive as RTP payloads (Annex B, parameter sets repeated
before keyframes) and MP4 stores them length-prefixed: the framing differs from the file the
server streams, but every coded slice must be the file's, byte for byte and in order.
"""

from __future__ import annotations

import contextlib
import io
import time
from datetime import UTC, datetime
from pathlib import Path

import av
import pyrage
import pytest

from evidence.custodians import rebuild_identity, split_new_key
from monitor.capture import SourceError, VideoSource
from monitor.config import load_config
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from monitor.workers.messages import SealedMessage
from tests.conftest import base_config, write_config
from tests.fixtures import scenes
from tests.reliability.conftest import RtspServer, camera

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]
PARAMETER_SETS = {7, 8, 9}  # SPS, PPS, access unit delimiter: framing, repeated by the payloader


def slices(packets: list[bytes]) -> list[bytes]:
    """The coded NAL units of length-prefixed or Annex B packets, parameter sets left out."""
    units: list[bytes] = []
    for data in packets:
        if data.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01")):
            parts = [p.lstrip(b"\x00") for p in data.replace(b"\x00\x00\x01", b"\x00\x00\x00\x01")
                     .split(b"\x00\x00\x00\x01") if p]
        else:
            parts, at = [], 0
            while at + 4 <= len(data):
                size = int.from_bytes(data[at:at + 4], "big")
                parts.append(data[at + 4:at + 4 + size])
                at += 4 + size
        units += [u for u in parts if u and u[0] & 0x1F not in PARAMETER_SETS]
    return units


def demux(data: bytes | str) -> list[bytes]:
    container = av.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def test_an_rtsp_clips_original_holds_the_cameras_slices(tmp_path: Path, rtsp_server: RtspServer,
                                                         walk_scene: scenes.Scene) -> None:
    key = split_new_key(["principal", "counsel", "director"], threshold=2, site="Test School")
    cam = camera("hall", rtsp_server.url, walk_scene)
    config = load_config(write_config(tmp_path, base_config(tmp_path / "data", cameras=[cam], originals={
        "recipient": key.recipient, "threshold": 2, "custodians": ["principal", "counsel", "director"]})))
    runtime = Runtime.open(config)
    sealed: list[SealedMessage] = []
    with VideoSource(rtsp_server.url, start=datetime.now(UTC)) as source:
        pipeline = CameraPipeline(runtime, config.camera("hall"), StreamInfo.of(source), live_view=False,
                                  outbox=DatabaseOutbox(runtime, on_sealed=sealed.append))
        deadline = time.monotonic() + 40
        last = datetime.now(UTC)
        with contextlib.suppress(SourceError):
            for packet in source:
                pipeline.process(packet)
                last = packet.wall_time
                if sealed or time.monotonic() > deadline:
                    break
        pipeline.close(last, reason="shutdown")
    assert sealed, "the walk through the zone should have made a clip"
    original = runtime.evidence.sealed(sealed[0].clip_id).details["original"]
    identity = rebuild_identity(key.shares[::2], recipient=key.recipient)
    plain = pyrage.decrypt((runtime.paths.root / original["path"]).read_bytes(),
                           [pyrage.x25519.Identity.from_str(identity)])
    assert len(plain) == original["size"]
    received, sent = slices(demux(plain)), slices(demux(str(walk_scene.path)))
    assert len(received) > 10
    looped = sent * (len(received) // len(sent) + 3)
    first = looped.index(received[0])
    assert received == looped[first:first + len(received)]
    runtime.close()
