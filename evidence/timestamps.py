"""RFC 3161 timestamps of checkpoints: a third party attests when each checkpoint existed.

The site's clock dates every entry and checkpoint; whoever controls the machine controls that
clock. Each checkpoint's signed bytes are therefore sent (as a SHA-256 imprint) to every
configured timestamp authority, and the signed token is kept beside the checkpoint:

    timestamps/<checkpoint>.json            the checkpoint's signed bytes (``openssl ts -data``)
    timestamps/<checkpoint>.<authority>.tsr the authority's DER reply (``openssl ts -in``)
    timestamps/<authority>.url              which authority an id names
    timestamps/pending/<checkpoint>         a checkpoint still missing some token

Tokens are fetched by a background thread, never in the seal path: an authority that is down
only grows the pending backlog, retried every ``retry_after`` seconds and at each checkpoint.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerifierBuilder,
    decode_timestamp_response,
)
from rfc3161_client import VerificationError as TokenError

from evidence.checkpoints import Checkpoint
from evidence.errors import EvidenceError, VerificationError
from evidence.hashing import sha256_bytes

TOKENS_DIR = "timestamps"
PENDING_DIR = "pending"
MAX_TOKEN = 64 << 10
CONTENT_TYPE = "application/timestamp-query"
TOLERANCE = timedelta(seconds=2)  # clock granularity and an authority's stated accuracy, when comparing times

log = logging.getLogger(__name__)


class TimestampError(VerificationError):
    """A timestamp token does not verify, or does not cover the bytes it should."""


def authority_id(url: str) -> str:
    """A short, stable file-name id for an authority's URL."""
    return sha256_bytes(url.encode("utf-8"))[:12]


def request_token(url: str, data: bytes, *, timeout: float) -> bytes:
    """Ask ``url`` for a token over SHA-256(``data``); the DER reply, checked to cover ``data``.

    Raises EvidenceError when the authority cannot be reached or answers with anything else.
    """
    request = (TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256)
               .nonce(nonce=True).cert_request(cert_request=True).build())
    http = urllib.request.Request(url, data=request.as_bytes(), method="POST",
                                  headers={"Content-Type": CONTENT_TYPE})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:  # the admin configured the URL
            body = answer.read(MAX_TOKEN + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EvidenceError(f"timestamp authority {url}: {exc}") from exc
    if len(body) > MAX_TOKEN:
        raise EvidenceError(f"timestamp authority {url}: reply larger than {MAX_TOKEN} bytes")
    response = _decode(body, url)
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise EvidenceError(f"timestamp authority {url}: refused ({response.status_string})")
    info = response.tst_info
    if info.message_imprint.message != bytes.fromhex(sha256_bytes(data)) or info.nonce != request.nonce:
        raise EvidenceError(f"timestamp authority {url}: the reply covers other data or another request")
    return body


@dataclass(frozen=True)
class Stamp:
    """A verified token: ``authority`` (its certificate's subject) attests ``time``."""

    authority: str
    time: datetime


def verify_token(token: bytes, data: bytes, *, roots: Sequence[x509.Certificate]) -> Stamp:
    """Check that ``token`` is a valid RFC 3161 token over ``data`` issued under one of ``roots``
    (the authorities' root certificates); raise TimestampError if not."""
    if not roots:
        raise TimestampError("no timestamp authority root certificate to check the token against")
    response = _decode(token, "token")
    builder = VerifierBuilder()
    for root in roots:
        with contextlib.suppress(ValueError):  # the same certificate twice
            builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, data)
        embedded = [x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
    except (TokenError, ValueError) as exc:
        raise TimestampError(f"token does not verify: {exc}") from exc
    info = response.tst_info
    signer = next((c for c in embedded if x509.ExtendedKeyUsageOID.TIME_STAMPING in _eku(c)), None)
    name = signer.subject.rfc4514_string() if signer is not None else str(info.name or "unnamed authority")
    return Stamp(authority=name, time=info.gen_time)


def load_roots(path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"{path}: not a PEM file of timestamp authority certificates ({exc})") from exc


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return []


def _decode(body: bytes, where: str) -> TimeStampResponse:
    try:
        return decode_timestamp_response(body)
    except ValueError as exc:
        raise TimestampError(f"{where}: not an RFC 3161 timestamp reply ({exc})") from exc


class Timestamper:
    """Fetch every authority's token for every checkpoint, in the background, with a backlog."""

    def __init__(self, folder: Path, authorities: Sequence[str], *, timeout: float = 5.0,
                 retry_after: float = 30.0) -> None:
        self.folder = Path(folder)
        self.authorities = tuple(authorities)
        self._timeout = timeout
        self._retry_after = retry_after
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        (self.folder / PENDING_DIR).mkdir(parents=True, exist_ok=True)
        for url in self.authorities:
            _write_once(self.folder / f"{authority_id(url)}.url", url.encode("utf-8"))

    def submit(self, checkpoint: Checkpoint) -> None:
        """Queue ``checkpoint`` for its tokens and wake the worker; never waits for the network."""
        if not self.authorities:
            return
        _write_once(self.folder / f"{checkpoint.name}.json", checkpoint.signed_bytes())
        (self.folder / PENDING_DIR / checkpoint.name).touch()
        self._start()
        self._wake.set()

    def fetch_now(self, checkpoint: Checkpoint) -> dict[str, bytes]:
        """Queue ``checkpoint`` and try its tokens at once (an export waits for them)."""
        self.submit(checkpoint)
        marker = self.folder / PENDING_DIR / checkpoint.name
        deadline = time.monotonic() + self._timeout * len(self.authorities) + 1
        self._process(checkpoint.name)
        while marker.exists() and time.monotonic() < deadline and self._held_elsewhere(marker):
            time.sleep(0.02)  # the worker thread (or another process) is fetching this one
        return self.tokens(checkpoint)

    def tokens(self, checkpoint: Checkpoint) -> dict[str, bytes]:
        """The tokens held for ``checkpoint``, by authority id."""
        found = {}
        for url in self.authorities:
            path = self.folder / f"{checkpoint.name}.{authority_id(url)}.tsr"
            if path.is_file():
                found[authority_id(url)] = path.read_bytes()
        return found

    def backlog(self) -> dict[str, int]:
        """Checkpoints still waiting for a token, per authority URL."""
        return pending_backlog(self.folder, self.authorities)

    def run_once(self) -> int:
        """Try every pending checkpoint, oldest first; the number still pending afterwards."""
        pending = self.folder / PENDING_DIR
        pending.mkdir(parents=True, exist_ok=True)  # an admin may have cleared the folder
        for name in sorted(p.name for p in pending.iterdir()):
            if self._stopped.is_set():
                break
            self._process(name)
        return sum(1 for _ in pending.iterdir())

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 1)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="timestamps", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._retry_after)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # a worker thread has nobody to raise to; the next round retries
                log.exception("timestamp round failed")

    @staticmethod
    def _held_elsewhere(marker: Path) -> bool:
        with _locked(marker) as held:
            return not held and marker.exists()

    def _process(self, name: str) -> None:
        marker = self.folder / PENDING_DIR / name
        with _locked(marker) as held:
            if not held:
                return  # another process is on it
            try:
                data = (self.folder / f"{name}.json").read_bytes()
            except FileNotFoundError:  # a marker without its checkpoint: nothing to timestamp
                log.warning("timestamp marker %s has no checkpoint file; dropped", name)
                marker.unlink(missing_ok=True)
                return
            missing = 0
            for url in self.authorities:
                path = self.folder / f"{name}.{authority_id(url)}.tsr"
                if path.exists():
                    continue
                try:
                    _write_once(path, request_token(url, data, timeout=self._timeout))
                except EvidenceError as exc:
                    missing += 1
                    log.warning("checkpoint %s: no timestamp yet: %s", name, exc)
            if not missing:
                marker.unlink(missing_ok=True)


def pending_backlog(folder: Path, authorities: Sequence[str]) -> dict[str, int]:
    """Checkpoints in ``folder`` still waiting for a token, per authority URL (any process may ask)."""
    pending = [p.name for p in (folder / PENDING_DIR).iterdir()] if (folder / PENDING_DIR).is_dir() else []
    return {url: sum(not (folder / f"{name}.{authority_id(url)}.tsr").exists() for name in pending)
            for url in authorities}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically unless it already exists."""
    if path.exists():
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
    partial.write_bytes(data)
    os.replace(partial, path)
