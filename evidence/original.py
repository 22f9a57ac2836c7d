"""The native original, encrypted to the unmask recipient as it is written.

The muxer writes the remuxed camera packets into ``EncryptedOriginal`` as into a file. A
thread runs age's streaming encryption (``pyrage.encrypt_io``, the Rust ``age`` crate) over
those bytes, so no plaintext byte reaches the disk: age emits the file in 64 KiB chunks, each
authenticated, and the SHA-256 of the plaintext and of the ciphertext are computed as they pass.

``sync`` (called when the clip fsyncs a fragment) waits until the encryptor has taken every
byte, fsyncs the ciphertext and appends one line to a progress file: the ciphertext length on
disk (header plus whole chunks) with the length and SHA-256 of the plaintext those chunks hold.
After a crash the file is cut back to the last such line (``recover_encrypted``). The final
chunk of an age stream carries an end flag the server cannot add without the file key it never
kept, so a recovered original is an age stream without its end. Decrypters (``age -d``, rage)
then release every chunk but the last whole one, which they can only try as the end and reject,
and report the file truncated; the plaintext recorded (and sealed) is therefore exactly what they
release. A crash costs the last 64-128 KiB of the original (a fraction of a second at 1080p).
``close`` finishes the stream and writes a last line marked complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from evidence.errors import EvidenceError
from evidence.hashing import create_durably, sha256_file

CHUNK = 64 * 1024  # age STREAM plaintext chunk
SEALED_CHUNK = CHUNK + 16  # with its Poly1305 tag
FORMAT = "age-v1"
PROGRESS_SUFFIX = ".progress"


@dataclass(frozen=True)
class OriginalDigest:
    """A written original: plaintext and ciphertext (equal when not encrypted) hashes and sizes."""

    sha256: str
    size: int
    ciphertext_sha256: str
    ciphertext_size: int
    complete: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "ciphertext_sha256": self.ciphertext_sha256,
                "ciphertext_size": self.ciphertext_size, "complete": self.complete}


class _Pipe:
    """Plaintext handed from the muxer's thread to the encryptor's, without a copy to disk."""

    def __init__(self) -> None:
        self._parts: deque[memoryview] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._waiting = False  # the encryptor asked for more and none is queued

    def put(self, data: bytes) -> None:
        with self._ready:
            self._parts.append(memoryview(data))
            self._ready.notify_all()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self._ready:
            while not self._parts and not self._closed:
                self._waiting = True
                self._ready.notify_all()
                self._ready.wait()
            self._waiting = False
            if not self._parts:
                return b""
            part = self._parts[0]
            take = len(part) if size is None or size < 0 else min(size, len(part))
            if take == len(part):
                self._parts.popleft()
            else:
                self._parts[0] = part[take:]
            return bytes(part[:take])

    def readable(self) -> bool:
        return True

    def wait_taken(self, alive: threading.Thread) -> None:
        """Until the encryptor has consumed (and so encrypted and written) all queued bytes."""
        with self._ready:
            while alive.is_alive() and not (self._waiting and not self._parts):
                self._ready.wait(0.05)


class _CipherSink:
    """Receives age's output: hashes it, writes it, finds where the header ends."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self.header: int | None = None
        self._head = b""

    def write(self, data: bytes) -> int:
        written = self._handle.write(data)
        self.digest.update(data)
        if self.header is None:
            self._head += bytes(data[:4096])
            mark = self._head.find(b"\n--- ")
            end = self._head.find(b"\n", mark + 1) if mark >= 0 else -1
            if end >= 0:
                self.header = end + 1
        self.size += len(data)
        return written

    def flush(self) -> None:
        self._handle.flush()

    def writable(self) -> bool:
        return True

    def whole_chunks(self) -> int:
        """Complete payload chunks on disk (age writes whole chunks only, after the header)."""
        return 0 if self.header is None else (self.size - self.header) // SEALED_CHUNK


class EncryptedOriginal:
    """A write-only, non-seekable file object that stores what it is given age-encrypted."""

    def __init__(self, path: Path, recipient: str) -> None:
        # Loaded here, not at import: every camera worker imports this module, and only those whose
        # camera keeps an encrypted original need age (1.2 MB resident).
        import pyrage

        self._pyrage = pyrage
        try:
            self._recipient = pyrage.x25519.Recipient.from_str(recipient)
        except pyrage.RecipientError as exc:
            raise EvidenceError(f"original {path.name}: {recipient!r} is not an age X25519 recipient") from exc
        self.path = Path(path)
        self.progress_path = progress_path(self.path)
        self._file = create_durably(self.path)
        self._sink = _CipherSink(self._file)
        self._pipe = _Pipe()
        self._plain = hashlib.sha256()
        self.size = 0
        self._at_chunks: dict[int, Any] = {0: self._plain.copy()}  # chunk count -> plaintext hash so far
        self._synced_chunks = 0
        self._error: BaseException | None = None
        self._progress = open(self.progress_path, "ab")  # noqa: SIM115 - closed in close()
        self._thread = threading.Thread(target=self._encrypt, name=f"encrypt-{self.path.name}", daemon=True)
        self._thread.start()

    def _encrypt(self) -> None:
        try:
            self._pyrage.encrypt_io(self._pipe, self._sink, [self._recipient])
        except BaseException as exc:  # noqa: BLE001 - handed to the writer's thread
            self._error = exc

    def write(self, data: bytes) -> int:
        self._raise_failure()
        view = memoryview(data)
        while view:
            room = CHUNK - self.size % CHUNK
            piece = view[:room]
            self._plain.update(piece)
            self.size += len(piece)
            view = view[len(piece):]
            if self.size % CHUNK == 0:
                self._at_chunks[self.size // CHUNK] = self._plain.copy()
        self._pipe.put(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to do: bytes reach the disk only as whole encrypted chunks (see ``sync``)."""

    def seekable(self) -> bool:
        return False

    def sync(self) -> None:
        """Make every whole chunk durable and record what plaintext it holds."""
        self._pipe.wait_taken(self._thread)
        self._raise_failure()
        self._sink.flush()
        chunks = self._sink.whole_chunks()
        if chunks <= self._synced_chunks:
            return
        os.fsync(self._file.fileno())
        assert self._sink.header is not None
        # Readers cannot tell an unflagged last chunk from a forged end, so they stop before it.
        readable = chunks - 1
        self._note({"ciphertext_size": self._sink.header + chunks * SEALED_CHUNK, "size": readable * CHUNK,
                    "sha256": self._at_chunks[readable].hexdigest()})
        self._synced_chunks = chunks
        for old in [k for k in self._at_chunks if k < chunks - 1]:
            del self._at_chunks[old]

    def close(self) -> OriginalDigest:
        """Finish the age stream, fsync it, and return both hashes."""
        self._pipe.close()
        self._thread.join()
        try:
            self._raise_failure()
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()
        digest = OriginalDigest(self._plain.hexdigest(), self.size, self._sink.digest.hexdigest(), self._sink.size)
        self._note({**digest.to_json()})
        self._progress.close()
        return digest

    def abandon(self) -> None:
        """Stop without finishing the stream (the disk failed): what was synced stays recoverable."""
        self._pipe.close()
        self._thread.join(timeout=5)
        for handle in (self._file, self._progress):
            try:
                handle.close()
            except OSError:
                pass

    def _note(self, line: dict[str, Any]) -> None:
        self._progress.write(json.dumps(line, sort_keys=True).encode("ascii") + b"\n")
        self._progress.flush()
        os.fsync(self._progress.fileno())

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise OSError(f"original {self.path.name}: encryption failed ({self._error})") from self._error


def progress_path(path: Path) -> Path:
    return path.with_name(path.name + PROGRESS_SUFFIX)


def recover_encrypted(path: Path) -> OriginalDigest | None:
    """After a crash: cut the ciphertext back to its last recorded whole chunk and say what it
    holds; None when not one chunk was recorded. A file closed before the crash is kept whole."""
    lines = _progress_lines(progress_path(path))
    if not lines or not path.is_file():
        return None
    last = lines[-1]
    if last.get("complete"):
        return OriginalDigest(last["sha256"], last["size"], last["ciphertext_sha256"], last["ciphertext_size"])
    keep = int(last["ciphertext_size"])
    if path.stat().st_size < keep:
        raise EvidenceError(f"original {path}: {path.stat().st_size} bytes on disk, fewer than the {keep} "
                            "recorded as written")
    with open(path, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return OriginalDigest(last["sha256"], last["size"], sha256_file(path), keep, complete=False)


def _progress_lines(path: Path) -> list[dict[str, Any]]:
    """Whole lines only: the last may be torn by the crash."""
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    lines = []
    for text in raw.split(b"\n")[:-1]:
        try:
            lines.append(json.loads(text))
        except ValueError:
            break
    return lines
