"""One camera's capture -> detect -> record -> seal, as a plain object with no processes.

The worker process feeds it packets from a live source; ``hotspot analyze`` feeds it packets
from a file; both therefore run exactly the same detection, masking and recording code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from monitor.capture import CapturedFrame, CapturedPacket, PacketDecoder, PacketPreroll, VideoSource
from monitor.capture.gate import STILL_FRAME, DecodeGate, DecodeMode, GateStats, OpenReason
from monitor.capture.keyframe_screen import KeyframeScreen
from monitor.config import Camera, Config, config_hash
from monitor.config.models import Originals
from monitor.config.schedule import is_active
from monitor.detect import MotionDetector, MotionObservation, PrivacyMasker
from monitor.detect.planes import plane_view
from monitor.detect.preview import Preview
from monitor.detect.privacy import Rect
from monitor.detect.tamper import TamperAlert, TamperDetector
from monitor.pipeline.main_stream import MainDecodes, MainStream, replay
from monitor.pipeline.preview_requests import PreviewRequests
from monitor.record import (
    ClipRolled,
    ClipWriteError,
    ClipWriter,
    EventClosed,
    EventOpened,
    EventTracker,
)
from monitor.record.events import EventRecord
from monitor.record.original import OriginalWriter
from monitor.seal.clip_sealer import ClipSealer, OpenClip, Outbox
from monitor.site.folders import Site
from monitor.workers.messages import AlertMessage, SealedMessage

log = logging.getLogger(__name__)

SPACE_RECHECK = timedelta(seconds=1.0)  # while an event waits for disk space
LIVE_INTERVAL = timedelta(seconds=0.5)
EDITOR_INTERVAL = timedelta(seconds=2.0)
LIVE_WIDTH = 640  # live tiles; JPEG encoding is the worker's largest cost after decoding
EDITOR_WIDTH = 960  # the zone editor shows more detail, four times less often
KEYFRAME_CHECK = timedelta(seconds=4.0)  # while idle, one keyframe checked this often at most
STALE_BACKGROUND = timedelta(seconds=30)  # nothing learnt for this long: start a new background
SWITCH_PATIENCE = timedelta(seconds=30)  # then a substream switch settles for quiet zones (can_switch)


class Decoding(Protocol):
    """What the pipeline asks of its source (``VideoSource``) about decoding."""

    spec: str

    def new_decoder(self) -> av.VideoCodecContext:
        """A fresh full-quality decoder for the stream's packets."""

    def hand_over_decoding(self) -> None:
        """Stop decoding: the pipeline's full-quality decoder makes the frames from now on."""

    def take_back_decoding(self) -> None:
        """Decode again (and cheaply) from the next keyframe on."""

    def detection_decoder(self) -> av.VideoCodecContext:
        """A fresh decoder for detection only, as cheap as the source's own."""

    @property
    def video_stream(self) -> av.VideoStream | None:
        """The stream whose packets the native original copies (None: keep no original)."""


@dataclass(frozen=True)
class StreamInfo:
    """What the pipeline needs to know about the stream it is fed."""

    width: int
    height: int
    fps: float
    source: Decoding

    @classmethod
    def of(cls, source: VideoSource) -> StreamInfo:
        """The stream of an open source."""
        return cls(source.width, source.height, source.fps, source)


def frame_to_bgr(frame: av.VideoFrame) -> np.ndarray:
    """BGR pixels for JPEG encoding; only used for snapshots and live frames, never per frame."""
    return frame.to_ndarray(format="bgr24")  # any size: yuv420p arrays need even widths


def write_jpeg(path: Path, frame: av.VideoFrame, quality: int = 80) -> bool:
    """Write a full-size frame as JPEG (alert snapshots)."""
    return write_image(path, frame_to_bgr(frame), quality)


def write_image(path: Path, bgr: np.ndarray, quality: int) -> bool:
    """Write atomically, so a reader never sees half a JPEG.

    Pictures are not evidence: when the disk is full the alert still goes out without one,
    so this logs and returns False instead of raising.
    """
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {path}")
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data.tobytes())
        tmp.replace(path)
    except OSError as exc:
        log.error("could not write %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
        return False
    return True


def masks_anything(camera: Camera) -> bool:
    """False only for a camera recorded with no privacy masking at all."""
    return camera.privacy.mask == "outside-zones" or bool(camera.privacy.zones)


def original_policy(originals: Originals, camera: Camera) -> tuple[bool, str | None]:
    """Whether this camera keeps native originals, and the recipient they are encrypted to.

    A masked camera's original is what the masking hides: it is kept only encrypted, so with
    no unmask key configured it is not kept. A camera with no masking keeps it in the clear
    unless ``encrypt_unmasked`` asks otherwise.
    """
    if not originals.keep:
        return False, None
    if masks_anything(camera) or originals.encrypt_unmasked:
        return originals.recipient is not None, originals.recipient
    return True, None


class CameraPipeline:
    """Turns a camera's packets into alerts and sealed clips."""

    def __init__(
        self,
        site: Site,
        camera: Camera,
        stream: StreamInfo,
        *,
        outbox: Outbox,
        live_view: bool = True,
        encoder_threads: int = 0,
        on_editor_frame: Callable[[bytes], None] | None = None,
        detect: StreamInfo | None = None,
    ) -> None:
        """``stream`` is the stream clips are recorded from; ``detect``, a camera's detect
        substream, the one detection reads (``detect_on_substream``): its packets go to
        ``process``, the main stream's to ``record``.

        ``encoder_threads``: 0 lets libx264 choose, which suits ``analyze`` (one file, as fast
        as it goes). A camera worker passes 1: a box runs many cameras at 15 fps, so slice
        threads buy nothing there, and one thread encodes 1080p with 8% less CPU and 2 MB less
        memory, still three times faster than real time."""
        self._site = site
        self._encoder_threads = encoder_threads
        self._stream = stream
        self._live_view = live_view
        self._on_editor_frame = on_editor_frame
        self._outbox = outbox
        self._sealer = ClipSealer(site, outbox)
        self.recording_paused = False
        self._preroll = PacketPreroll(camera.recording.pre_roll + 1.0)
        self._preroll_span = timedelta(seconds=camera.recording.pre_roll)
        self._last_analysis: datetime | None = None
        self._last_live: datetime | None = None
        self._last_editor: datetime | None = None
        self._preview_requests = PreviewRequests(site.paths, camera.id)
        self._active_cache: tuple[int, frozenset[str]] | None = None
        self._clip: OpenClip | None = None
        self._masked: av.VideoFrame | None = None  # the open clip's frame buffer, masked into anew each frame
        self._clip_rect: Rect | None = None  # the part of the frame the open clip encodes
        self._decoder: PacketDecoder | None = None  # full quality: the clip's, then detection's
        self._decoders_made = 0
        self._source_decoded = True  # False while the full-quality decoder feeds detection
        self._last_space_check: datetime | None = None
        self._last_wall: datetime | None = None
        self._zones_seen: set[str] = set()
        self._last_learned: datetime | None = None  # the background's last frame (analysis or check)
        self._last_seen: MotionObservation | None = None  # the last analysed frame's, for can_switch
        self.frames = 0
        self._gate = DecodeGate({})
        self._main: MainStream | None = None  # set while detection reads a detect substream
        self._main_decodes: MainDecodes | None = None  # kept while detection falls back to the main stream
        self._apply_camera(site.config, camera)
        self._detector = MotionDetector(camera, stream.width, stream.height)
        self._tracker = EventTracker(camera.recording, camera.id)
        self._tamper = TamperDetector(camera.tamper) if camera.tamper.enabled else None
        self._keyframes = KeyframeScreen()
        if detect is not None:
            self.detect_on_substream(detect)

    # -- configuration -------------------------------------------------------------------

    def _apply_camera(self, config: Config, camera: Camera) -> None:
        self._config = config
        self.camera = camera
        self._config_hash = config_hash(config, camera)
        self._masker = PrivacyMasker(camera, self._stream.width, self._stream.height)
        recorded = self._recorded
        self._clip_masker = (self._masker if recorded is self._stream
                             else PrivacyMasker(camera, recorded.width, recorded.height))
        editor_masker = PrivacyMasker(
            camera, self._stream.width, self._stream.height, explicit_only=True
        )
        self._live_preview = Preview(self._masker, max_width=LIVE_WIDTH)
        self._editor_preview = Preview(editor_masker, max_width=EDITOR_WIDTH)
        self._analysis_interval = timedelta(seconds=0.999 / camera.detection.analysis_fps)
        self._active_cache = None
        self._gate.update_zones({zone.id: zone.min_area for zone in camera.zones})
        self._gate.idle_gate = camera.detection.idle_gate

    def update_config(self, config: Config) -> None:
        """Apply edited zones, schedules and privacy at the next frame; the open clip keeps going."""
        camera = config.camera(self.camera.id)
        if camera.tamper != self.camera.tamper:  # otherwise the learned reference view stays
            self._tamper = TamperDetector(camera.tamper) if camera.tamper.enabled else None
        self._apply_camera(config, camera)
        self._detector.update_camera(camera)

    def _active_zones(self, when: datetime) -> frozenset[str]:
        """Zones whose schedule is on now; evaluated once per wall-clock minute."""
        minute = int(when.timestamp() // 60)
        if self._active_cache is None or self._active_cache[0] != minute:
            active = frozenset(
                zone.id
                for zone in self.camera.zones
                if is_active(self._config.schedules.get(zone.schedule or ""), when, self._config.site)
            )
            self._active_cache = (minute, active)
        return self._active_cache[1]

    # -- the per-packet path ---------------------------------------------------------------

    def process(self, packet: CapturedPacket) -> tuple[CapturedFrame, ...]:
        """Detect, then record the packet at full quality if a clip is open; returns the
        frames analysed (not ``packet.frames``, which is empty while a clip's decoder decodes).

        A clip's decoder replays the pre-roll and then decodes every live packet; from the
        packet after it opened, the source stops decoding and detection reads that decoder's
        frames too. After the clip it keeps feeding detection until the source takes
        decoding back at a keyframe (a packet the source decoded again drops it).

        Neither decodes while the gate is closed (``monitor.capture.gate``): the packet only
        goes into the pre-roll, unless it opens the gate, which replays the pre-roll from its
        last keyframe into detection with a decoder of its own (handed back to the source
        at the next keyframe, as after a clip).
        """
        gate = self._gate
        decoders_before = self._decoders_made
        if packet.packet.size:
            gate.note_packet(packet.packet.size, keyframe=packet.keyframe)
        if packet.decoded:
            gate.counted()
            frames = packet.frames
            if self._clip is None and self._decoder is not None:
                if not self._source_decoded:
                    # The source took decoding back at this keyframe: frames the old decoder
                    # still holds for reordering (B-frames) come before it.
                    frames = self._decoder.drain(packet.wall_time) + frames
                self._decoder = None
        elif self._decoder is not None:
            gate.counted()
            frames = self._decoder.decode(packet)
        else:
            frames = self._gated(packet)
        self._source_decoded = packet.decoded
        for captured in frames:
            self._process_frame(captured)
        self._last_wall = packet.wall_time
        self._resume_recording(packet.wall_time)
        self._preroll.push(packet)  # after any replay, which therefore ends before this packet
        if self._main is None and self._clip is not None:
            self._write_original((packet,))
            if self._decoder is not None:
                # A decoder made for a clip opened by this packet's frames has not seen it yet.
                fresh = packet.decoded or self._decoders_made != decoders_before
                if fresh:
                    gate.counted()
                self._write(self._decoder.decode(packet) if fresh else frames)
        if gate.closed_mode is None:
            self._maybe_close_gate(packet.wall_time)
        self._outbox.retry()
        return frames

    # -- a detect substream (docs/substream.md) ----------------------------------------------

    @property
    def _recorded(self) -> StreamInfo:
        """The stream clips come from: the main stream, whichever stream detection reads."""
        return self._main.stream if self._main is not None else self._stream

    @property
    def _recorded_preroll(self) -> PacketPreroll:
        return self._main.preroll if self._main is not None else self._preroll

    @property
    def _clip_decoder(self) -> PacketDecoder | None:
        return self._main.decoder if self._main is not None else self._decoder

    def _stop_main_decoding(self) -> None:
        """The main stream is decoded only while a clip records."""
        if self._main is not None:
            self._main.decoder = None

    @property
    def detects_on_substream(self) -> bool:
        return self._main is not None

    def can_switch(self, waited: timedelta) -> bool:
        """Detection may move to a substream that opened ``waited`` ago: no event is open,
        nothing records, and the picture is still or nothing is decoded (off schedule, or idle:
        still too). A new background starts from the new stream's first frame (two streams'
        pictures differ in fine detail); someone moving then would leave a ghost in it for
        seconds, and events that differ from what one stream would have given.

        After ``SWITCH_PATIENCE`` quiet zones will do: a hallway with people passing outside
        its hotspot all day is never still, and would otherwise be detected on its main stream
        for good. A ghost outside every zone cannot trigger; one inside fades in seconds."""
        if self._clip is not None or self._tracker.active:
            return False
        if self.gate_closed:
            return True
        seen = self._last_seen
        if seen is None:
            return False
        return seen.changed_fraction <= STILL_FRAME or (
            waited >= SWITCH_PATIENCE and all(f <= STILL_FRAME for f in seen.zone_fractions.values()))

    def record(self, packet: CapturedPacket) -> None:
        """A main-stream packet while detection reads a substream: into the main stream's
        pre-roll, then into the open clip and its original. The worker hands both streams'
        packets over in the order they arrived, so a clip holds the main stream's packets
        between its start and end by wall time."""
        main = self._main
        if main is None:
            raise RuntimeError("record() takes the main stream of a camera detecting on a substream")
        main.push(packet)
        if self._clip is not None:
            self._write_original((packet,))
            if main.decoder is not None:
                self._write(main.decode(packet))

    def detect_on_substream(self, detect: StreamInfo) -> None:
        """Detection, snapshots and previews read ``detect`` from now on; the stream read so
        far is only recorded, and decoded only while a clip records. The worker waits for
        ``can_switch``; it raises while an event is open."""
        if self._main is not None or self._clip is not None or self._tracker.active:
            raise RuntimeError("detection moves to a substream only while nothing records")
        self._stream.source.hand_over_decoding()
        self._main_decodes = self._main_decodes or MainDecodes()
        self._main = MainStream(self._stream, self._preroll, self._main_decodes)
        self._stream, self._decoder, self._source_decoded = detect, None, True
        self._preroll = PacketPreroll(self.camera.recording.pre_roll + 1.0)
        self._detection_stream_changed()

    def detect_on_main(self) -> None:
        """The substream failed: detection reads the main stream, as for a camera without a
        substream. An open clip goes on: its decoder feeds detection too, as after any clip
        opened on one stream. Otherwise a detection decoder catches up from the main stream's
        last keyframe and feeds detection until the source decodes again at the next one."""
        main, self._main = self._main, None
        if main is None:
            return
        self._stream, self._preroll, self._source_decoded = main.stream, main.preroll, False
        self._detection_stream_changed()
        if main.decoder is not None:
            self._decoder = main.decoder
            return
        source = self._stream.source
        self._decoder = PacketDecoder(source.detection_decoder(), source=source.spec)
        source.take_back_decoding()
        for item in self._preroll.since(datetime.max.replace(tzinfo=UTC)):  # its last keyframe on
            self._gate.counted()
            self._decoder.decode(item)  # already analysed on the substream: only caught up

    def _detection_stream_changed(self) -> None:
        """Another frame size and other packet sizes: the background, packet sizes and the
        tamper reference are learnt again. Two streams of one picture differ in fine detail
        (5% of a zone on the test renders), so the other stream's background would report
        motion that is not there (docs/substream.md, "What a switch costs")."""
        self._gate.new_stream()
        self._apply_camera(self._config, self.camera)
        self._detector.reframe(self._stream.width, self._stream.height)
        self._detector.forget()
        self._tamper = TamperDetector(self.camera.tamper) if self.camera.tamper.enabled else None
        self._keyframes = KeyframeScreen()

    # -- the decode gate ---------------------------------------------------------------------

    def _busy(self) -> bool:
        """Frames are needed whatever the zones say: an event or clip is open, or a preview
        is wanted."""
        return (self._clip is not None or self._tracker.active
                or (self._live_view and bool(self._preview_requests.wanted())))

    def _maybe_close_gate(self, now: datetime) -> None:
        if self._gate.close_now(now, zones_active=bool(self._active_zones(now)), busy=self._busy()) is None:
            return
        self._stream.source.hand_over_decoding()  # to nobody: packets come undecoded
        self._decoder = None

    def _gated(self, packet: CapturedPacket) -> tuple[CapturedFrame, ...]:
        """A packet nobody decodes unless it opens the gate."""
        gate = self._gate
        zones_active = bool(self._active_zones(packet.wall_time))
        reason = gate.open_reason(packet.packet.size, keyframe=packet.keyframe,
                                  zones_active=zones_active, busy=self._busy())
        checked = self._last_learned
        if (reason is None and packet.keyframe and gate.closed_mode is DecodeMode.IDLE
                and (checked is None or packet.wall_time - checked >= KEYFRAME_CHECK)):
            reason = self._check_keyframe(packet)
        elif packet.keyframe and self._tamper is not None:
            self._screened_tamper_check(packet, self._tamper)
        if reason is None:
            return ()
        if not packet.keyframe and self._preroll.oldest is None:
            return ()  # nothing to decode from before the next keyframe
        # A change a keyframe showed began after the check before it, which the pre-roll holds
        # (as much of it as it does).
        since = checked if reason is OpenReason.KEYFRAME and checked is not None else packet.wall_time
        return self._open_gate(packet, reason, since)

    def _screened_tamper_check(self, packet: CapturedPacket, tamper: TamperDetector) -> None:
        """A tamper check on a keyframe nothing else decodes, when its size or the time since
        the last check says it is worth the decode (``monitor.capture.keyframe_screen``)."""
        size, when = packet.packet.size, packet.wall_time
        if not tamper.due(when) or not self._keyframes.wants(size, when, settled=tamper.settled):
            return
        self._check_tamper(self._decode_keyframe(packet))
        self._keyframes.checked(size, when, normal=tamper.settled)

    def _decode_keyframe(self, packet: CapturedPacket) -> tuple[CapturedFrame, ...]:
        source = self._stream.source
        decoder = PacketDecoder(source.detection_decoder(), source=source.spec)
        self._gate.counted()
        return decoder.decode(packet) + decoder.drain(packet.wall_time)

    def _check_keyframe(self, packet: CapturedPacket) -> OpenReason | None:
        """Decode the keyframe alone and compare it with the background, which learns from it
        what the frames nobody decoded would have taught."""
        frames = self._decode_keyframe(packet)
        self._check_tamper(frames)
        if not frames:
            return None
        since = self._last_learned or packet.wall_time
        fractions = self._detector.peek(
            frames[0].frame, active_zones=self._active_zones(packet.wall_time),
            frames_since=(packet.wall_time - since).total_seconds() * self.camera.detection.analysis_fps,
        )
        self._last_learned = packet.wall_time
        return self._gate.peeked(fractions)

    def _open_gate(self, packet: CapturedPacket, reason: OpenReason, since: datetime) -> tuple[CapturedFrame, ...]:
        """Replay the pre-roll from its last keyframe into detection, then this packet; the
        source decodes again from the next keyframe."""
        log.debug("camera %s: decoding again (%s)", self.camera.id, reason)
        source = self._stream.source
        stale = self._last_learned is None or packet.wall_time - self._last_learned > STALE_BACKGROUND
        if reason is OpenReason.SCHEDULE or stale:
            self._detector.forget()
        self._gate.opened(packet.wall_time, reason)
        decoder = PacketDecoder(source.detection_decoder(), source=source.spec)
        self._decoder = decoder
        source.take_back_decoding()  # before the replay: a clip it opens takes decoding over
        replay = not packet.keyframe or reason is OpenReason.KEYFRAME
        for item in self._preroll.since(since) if replay else ():
            self._gate.counted()
            for captured in decoder.decode(item):
                self._process_frame(captured)
        self._gate.counted()
        return decoder.decode(packet)

    @property
    def gate_closed(self) -> bool:
        return self._gate.closed_mode is not None

    def gate_stats(self, now: datetime) -> GateStats:
        """What the camera decodes now, and how much of its stream it decoded; with a detect
        substream, also the main stream's packets and decodes while it was only recorded."""
        stats = self._gate.stats(now)
        if (main := self._main_decodes) is None:
            return stats
        return replace(stats, main_packets=main.packets, main_decoded=main.decoded)

    def _process_frame(self, captured: CapturedFrame) -> None:
        self.frames += 1
        now = captured.wall_time
        if self._last_analysis is None or now - self._last_analysis >= self._analysis_interval:
            self._last_analysis = now
            observation = self._detector.observe(
                captured.frame, active_zones=self._active_zones(now), wall_time=now
            )
            self._last_learned = now
            self._last_seen = observation
            self._gate.observed(now, observation.zone_fractions, observation.changed_fraction)
            self._zones_seen.update(observation.triggered)
            for record in self._tracker.update(now, observation.triggered, observation.score):
                self._handle(record, captured, observation.zone_fractions)
        self._check_tamper((captured,))
        if self._live_view:
            self._update_live(captured)

    def _handle(self, record: EventRecord, captured: CapturedFrame, scores: dict[str, float]) -> None:
        if isinstance(record, EventOpened):
            self._zones_seen = set(record.zones)
            # The snapshot's full-size copies are freed before the encoder and the clip's
            # decoder exist: drawn after them, it raised a 1080p worker's peak by 6 MB.
            snapshot = self._write_snapshot(record, captured)
            opened = self._open_clip(record.event_id, record.clip_id, record.part, record.start)
            # The alert goes out before the pre-roll is decoded and encoded: at 1080p with
            # 5 s of pre-roll that takes over a second.
            self._raise_motion_alert(record, snapshot, scores)
            if opened:
                self._replay_preroll(record.start)
        elif isinstance(record, ClipRolled):
            # The next part of a split event starts now; the decoder goes on.
            self._finish_clip(None, drain=False)
            if self._open_clip(record.event_id, record.clip_id, record.part, record.at) and not self._clip_decoder:
                self._replay_preroll(record.at)
        elif isinstance(record, EventClosed):
            self._finish_clip(None, drain=False)
            self._stop_main_decoding()
            self._stream.source.take_back_decoding()

    def _open_clip(self, event_id: str, clip_id: str, part: int, start: datetime) -> bool:
        """Create the clip's file, encoder and row; False when there is no space to record."""
        if not self._space_for_recording():
            return False
        paths = self._site.paths
        path = paths.clip_file(self.camera.id, start, clip_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Only the rectangle that holds visible pixels is encoded: with the default mask the
        # rest is black, and encoding it cost most of a recording camera's CPU.
        rect = self._clip_rect = self._clip_masker.visible_rect
        recorded = self._recorded
        writer = ClipWriter(path, width=rect.width, height=rect.height,
                            fps=recorded.fps, start=start, preset=self.camera.recording.encoder_preset,
                            threads=self._encoder_threads)
        self._clip = self._sealer.open(
            writer=writer, clip_id=clip_id, event_id=event_id, part=part, camera=self.camera,
            config=self._config, config_hash=self._config_hash, start=start,
            stream=(rect.width, rect.height, recorded.fps),
            placement={"x": rect.x, "y": rect.y, "frame_width": recorded.width,
                       "frame_height": recorded.height},
            original=self._open_original(clip_id, start),
        )
        # The original starts at the keyframe at or before the clip's start: the packets the
        # pre-roll holds from there (this packet follows once the pre-roll has it).
        self._write_original(self._recorded_preroll.since(start))
        return True

    def _open_original(self, clip_id: str, start: datetime) -> OriginalWriter | None:
        template = self._recorded.source.video_stream
        keep, recipient = original_policy(self._config.originals, self.camera)
        if not keep or template is None:
            return None
        path = self._site.paths.original_file(self.camera.id, start, clip_id, encrypted=recipient is not None)
        try:
            return OriginalWriter(path, template, recipient=recipient)
        except (av.error.FFmpegError, ValueError, OSError) as exc:  # e.g. a codec MP4 cannot hold
            log.error("camera %s: clip %s keeps no original: %s", self.camera.id, clip_id, exc)
            return None

    def _write_original(self, packets: Iterable[CapturedPacket]) -> None:
        """The camera's packets, copied. A failure stops the original (sealed as far as it was
        synced, with the reason) but never the clip: the masked recording goes on."""
        original = self._clip.original if self._clip is not None else None
        if original is None or original.stopped is not None:
            return
        try:
            for item in packets:
                original.write(item.packet)
        except ClipWriteError as exc:
            log.error("camera %s: %s", self.camera.id, exc)
            original.abandon(str(exc))

    def _replay_preroll(self, start: datetime) -> None:
        """A new full-quality decoder replays the pre-roll from the keyframe before ``start``
        into the clip, then takes every live packet, and the source stops decoding. With a
        detect substream it is the main stream's, for the clip alone."""
        main = self._main
        if main is not None:
            main.decoder = None  # freed before the next one is made
            main.decoder = PacketDecoder(main.stream.source.new_decoder(), source=main.stream.source.spec)
            self._write(main.replay(start))
            return
        self._decoder = None  # freed before the next one is made
        source = self._stream.source
        self._decoder = PacketDecoder(source.new_decoder(), source=source.spec)
        self._decoders_made += 1
        source.hand_over_decoding()
        self._write(replay(self._decoder, self._preroll.since(start), start))

    def _write(self, frames: Iterable[CapturedFrame]) -> None:
        """Mask and encode; a disk failure abandons (salvages) the clip instead of crashing."""
        if self._clip is None:
            return
        writer, rect = self._clip.writer, self._clip_rect
        assert rect is not None
        try:
            for frame in frames:
                self._masked = self._mask_for_clip(frame.frame, rect)
                writer.write(self._masked, frame.wall_time)
        except ClipWriteError as exc:
            self._abandon_clip(str(exc))

    def _mask_for_clip(self, frame: av.VideoFrame, rect: Rect) -> av.VideoFrame:
        """The masked part of ``frame`` the clip encodes, into the clip's reused buffer. The
        rectangle is the clip's own: privacy edited mid-clip masks the rest of it at once."""
        masker = self._clip_masker
        if masker.style == "fill":
            return masker.apply_within(frame, rect, self._masked)
        if (rect.width, rect.height) == (masker.width, masker.height):
            return masker.apply(frame, self._masked)
        masked = masker.apply(frame)  # pixelate at an odd size, or privacy edited mid-clip
        out = self._masked or av.VideoFrame(rect.width, rect.height, "yuv420p")
        for plane, (source, target) in enumerate(zip(masked.planes, out.planes)):
            scale = 1 if plane == 0 else 2
            dst = plane_view(target)
            top, left = rect.y // scale, rect.x // scale
            np.copyto(dst, plane_view(source)[top:top + dst.shape[0], left:left + dst.shape[1]])
        return out

    def _resume_recording(self, now: datetime) -> None:
        """An event open while recording was paused for space: start its clip once space is
        back, with whatever of the event the pre-roll still holds."""
        if not self.recording_paused or self._clip is not None:  # checked per packet: cheap first
            return
        current = self._tracker.current
        if current is None:
            return
        if self._last_space_check is None or now < self._last_space_check:
            self._last_space_check = now  # the pause was just decided
        if now - self._last_space_check < SPACE_RECHECK:
            return
        self._last_space_check = now
        event_id, clip_id, part, start = current
        start = max(start, now - self._preroll_span)
        if self._open_clip(event_id, clip_id, part, start):
            self._replay_preroll(start)

    def _space_for_recording(self) -> bool:
        """Free space first (unheld clips may be deleted); pause recording if that fails."""
        has_space = self._outbox.make_space()
        if has_space == self.recording_paused:  # paused and space is back, or the reverse
            self.recording_paused = not has_space
            floor = self._site.config.storage.min_free_mb
            message = (f"Recording resumed on {self.camera.label}: free space is above {floor} MiB again"
                       if has_space else
                       f"Recording paused on {self.camera.label}: less than {floor} MiB free under "
                       "the storage folder and no clip could be deleted to make room")
            self._sealer.record_alert({"kind": "storage", "camera_id": self.camera.id,
                                       "time": datetime.now(UTC), "message": message})
        return has_space

    def _abandon_clip(self, error: str) -> None:
        """The disk failed mid-clip: keep and seal what was written, marked incomplete."""
        clip, self._clip, self._masked = self._clip, None, None
        self._stop_main_decoding()
        self._stream.source.take_back_decoding()
        if clip is not None:
            log.error("camera %s: %s", self.camera.id, error)
            clip.zones.update(self._zones_seen)
            self._sealer.salvage(clip, reason=error)

    def _finish_clip(self, incomplete: str | None, *, drain: bool) -> None:
        """Seal the open clip. ``drain`` when the stream ends: the frames the decoder still
        holds for reordering go into the clip, and the decoder takes no more packets. Otherwise
        it keeps decoding for detection; what it holds lies after the clip's end anyway."""
        decoder = self._clip_decoder
        if drain and self._clip is not None and decoder is not None and self._last_wall:
            self._write(decoder.drain(self._last_wall))
        clip, self._clip, self._masked = self._clip, None, None
        if drain:
            self._decoder = None
            self._stop_main_decoding()
        if clip is not None:
            clip.zones.update(self._zones_seen)
            self._sealer.finish(clip, incomplete=incomplete)

    def _write_snapshot(self, record: EventOpened, captured: CapturedFrame) -> Path | None:
        """The alert's masked JPEG of the triggering frame; None when it could not be written."""
        stamp = record.trigger_time.strftime("%Y%m%dT%H%M%S%fZ")
        snapshot = self._site.paths.snapshots / self.camera.id / f"{stamp}-{record.event_id[:8]}.jpg"
        return snapshot if write_jpeg(snapshot, self._masker.apply(captured.frame)) else None

    def _raise_motion_alert(
        self, record: EventOpened, snapshot: Path | None, scores: dict[str, float]
    ) -> None:
        paths = self._site.paths
        alert = {
            "kind": "motion", "camera_id": self.camera.id, "time": record.trigger_time,
            "zones": list(record.zones),
            "zone_scores": {z: round(scores.get(z, 0.0), 4) for z in record.zones},
            "score": record.score, "message": f"Motion in {', '.join(record.zones)}",
            "snapshot_path": paths.relative(snapshot) if snapshot else None, "event_id": record.event_id,
            "clip_id": self._clip.clip_id if self._clip else None,
        }
        self._sealer.record_alert(alert)

    def _check_tamper(self, frames: tuple[CapturedFrame, ...]) -> None:
        """A few times a second while frames are decoded; at keyframes (decoded for this alone
        when nothing else needs them) while the decode gate is closed."""
        if self._tamper is None or not frames or not self._tamper.due(frames[0].wall_time):
            return
        captured = frames[0]
        tampered = self._tamper.check(plane_view(captured.frame.planes[0]), captured.wall_time)
        if tampered is not None:
            self._raise_tamper_alert(tampered, captured)

    def _raise_tamper_alert(self, tampered: TamperAlert, captured: CapturedFrame) -> None:
        """Whatever the zones' schedules say: a blocked or turned camera is a blind spot."""
        stamp = tampered.time.strftime("%Y%m%dT%H%M%S%fZ")
        snapshot = self._site.paths.snapshots / self.camera.id / f"{stamp}-tamper.jpg"
        written = write_jpeg(snapshot, self._masker.apply(captured.frame))
        self._sealer.record_alert({
            "kind": "tamper", "reason": tampered.reason, "camera_id": self.camera.id,
            "time": tampered.time, "message": f"{tampered.message} since {tampered.since:%H:%M:%S} UTC",
            "snapshot_path": self._site.paths.relative(snapshot) if written else None,
        })

    def _update_live(self, captured: CapturedFrame) -> None:
        """Reduced previews, and only while someone watches: full-size JPEGs cost a third of
        the decoder's time; reduced ones, drawn for every camera all the time, still a tenth
        to a fifth of a 1080p worker's CPU."""
        wanted = self._preview_requests.wanted()
        if not wanted:
            return
        now, paths = captured.wall_time, self._site.paths
        last = self._last_live
        if "live" in wanted and (last is None or now - last >= LIVE_INTERVAL or now < last):
            self._last_live = now
            image = self._live_preview.bgr(captured.frame)
            write_image(paths.preview_file(self.camera.id, "live"), image, 70)
        last = self._last_editor
        send = self._on_editor_frame
        if send and "editor" in wanted and (last is None or now - last >= EDITOR_INTERVAL or now < last):
            self._last_editor = now
            ok, data = cv2.imencode(".jpg", self._editor_preview.bgr(captured.frame), [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:  # handed over in memory, never written: people outside the hotspots are visible in it
                send(data.tobytes())

    # -- shutdown ------------------------------------------------------------------------

    def close(self, now: datetime, *, reason: str) -> None:
        """Close any open event (stream lost, shutdown, end of file) and seal its clip."""
        for record in self._tracker.close(now, "stream_lost" if reason == "stream lost" else "shutdown"):
            if isinstance(record, EventClosed):
                incomplete = None if reason in ("end_of_file", "shutdown") else reason
                self._finish_clip(incomplete, drain=True)
        self._finish_clip(None, drain=True)
        self._preroll.clear()
        if self._main is not None:
            self._main.preroll.clear()
        self._outbox.retry(block=True)

    @property
    def pending_writes(self) -> int:
        """Alerts and seals waiting for the database to come back."""
        return self._outbox.pending

    def stream_restarted(self, stream: StreamInfo) -> None:
        """After a reconnect the old packets belong to another decoder session, and the new
        source decodes for itself."""
        self._stream = stream
        self._decoder = None
        self._source_decoded = True
        self._gate.resume()
        self._preroll.clear()


def describe_alert(message: AlertMessage) -> str | None:
    """One JSON line per alert that is not motion (a motion alert's clip gets its own line)."""
    if message.kind == "motion":
        return None
    return json.dumps({"alert": message.kind, "camera": message.camera_id,
                       "time": message.time.isoformat(), "reason": message.reason})


def describe_sealed(message: SealedMessage) -> str:
    """One JSON line per sealed clip, as ``hotspot analyze`` prints it."""
    return json.dumps(
        {
            "camera": message.camera_id,
            "zones": list(message.zones),
            "start": message.start.isoformat(),
            "end": message.end.isoformat(),
            "clip": message.path,
            "clip_id": message.clip_id,
            "event_id": message.event_id,
            "sha256": message.sha256,
            "incomplete": message.incomplete,
        }
    )
