"""The native original: the camera's own packets for a clip's span, remuxed, never re-encoded.

The clip is a masked re-encoding; this file is what the camera sent, from the keyframe at or
before the clip's first frame to its last packet, in fragmented MP4 with the stream's own
timestamps and codec parameters: the bitstream is copied packet by packet. It is written as
the clip records, fsynced with it, and its SHA-256 is computed on the way. For a masked
camera it goes through ``evidence.original.EncryptedOriginal``, so only age ciphertext
reaches the disk; a camera recorded without masking may keep it in the clear.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import av
import av.container

from evidence.hashing import HashingWriter, create_durably
from evidence.original import EncryptedOriginal, OriginalDigest
from monitor.record.errors import ClipWriteError

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
ENCRYPTED_SUFFIX = ".mp4.age"
PLAIN_SUFFIX = ".mp4"


class OriginalWriter:
    """Remuxes one clip's packets into its original; ``recipient`` None writes it in the clear."""

    def __init__(self, path: Path, template: av.VideoStream, *, recipient: str | None) -> None:
        self.path = Path(path)
        self.recipient = recipient
        self._sink: EncryptedOriginal | HashingWriter
        if recipient is not None:
            self._sink = EncryptedOriginal(self.path, recipient)
        else:
            self._sink = HashingWriter(create_durably(self.path))
        self._synced = 0
        self.packets = 0
        self.discontinuities = 0
        self.stopped: str | None = None  # why the original stopped before its clip did
        self._shift = 0
        self._last_dts: int | None = None
        try:
            self._container = av.open(self._sink, "w", format="mp4",
                                      options={"movflags": MOVFLAGS, "flush_packets": "1"})
            self._stream = self._container.add_stream_from_template(template)
        except Exception:
            self._discard()
            raise

    def write(self, packet: av.Packet) -> None:
        """Mux a copy of the packet's place in time; the packet itself is left as it was, since
        the same object is replayed to the clip's decoder and kept in the pre-roll."""
        if self.stopped is not None or packet.size == 0 or packet.dts is None and packet.pts is None:
            return
        saved = (packet.stream, packet.pts, packet.dts, packet.duration, packet.time_base)
        try:
            packet.stream = self._stream
            if packet.dts is None:
                packet.dts = packet.pts
            self._keep_rising(packet)
            self._container.mux(packet)
        except av.error.FFmpegError as exc:
            raise ClipWriteError(f"original {self.path}: packet refused by the muxer ({exc})") from exc
        except OSError as exc:
            raise ClipWriteError(f"original {self.path}: writing failed ({exc.strerror or exc})") from exc
        finally:
            packet.stream, packet.pts, packet.dts, packet.duration, packet.time_base = saved
        self.packets += 1
        self._sync_if_grown()

    def _keep_rising(self, packet: av.Packet) -> None:
        """A file source that loops, or a camera whose clock restarts, sends timestamps that go
        back; MP4 cannot hold them, so from there on they are shifted forward (and counted)."""
        assert packet.dts is not None
        dts = packet.dts + self._shift
        if self._last_dts is not None and dts <= self._last_dts:
            self._shift += self._last_dts + max(packet.duration or 0, 1) - dts
            self.discontinuities += 1
            dts = packet.dts + self._shift
        if self._shift:
            packet.dts = dts
            packet.pts = None if packet.pts is None else packet.pts + self._shift
        self._last_dts = dts

    def _sync_if_grown(self) -> None:
        if self._sink.size > self._synced:
            try:
                self._sink.sync()
            except OSError as exc:
                raise ClipWriteError(f"original {self.path}: writing failed ({exc.strerror or exc})") from exc
            self._synced = self._sink.size

    def close(self) -> OriginalDigest:
        """Finish the file (and the age stream) and return its hashes."""
        try:
            self._container.close()
            if isinstance(self._sink, EncryptedOriginal):
                return self._sink.close()
            self._sink.sync()
            digest = self._sink.hexdigest()
            return OriginalDigest(digest, self._sink.size, digest, self._sink.size)
        except (OSError, av.error.FFmpegError) as exc:
            raise ClipWriteError(f"original {self.path}: finishing failed ({exc})") from exc
        finally:
            if isinstance(self._sink, HashingWriter):
                with contextlib.suppress(OSError):
                    self._sink.close()

    def abandon(self, reason: str = "abandoned") -> None:
        """Stop (the disk failed, or the muxer refused a packet); what was synced stays for recovery."""
        if self.stopped is not None:
            return
        self.stopped = reason
        with contextlib.suppress(Exception):
            self._container.close()
        self._discard()

    def _discard(self) -> None:
        if isinstance(self._sink, EncryptedOriginal):
            self._sink.abandon()
        else:
            with contextlib.suppress(OSError):
                self._sink.close()
