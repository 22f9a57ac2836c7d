"""Capture fixtures: small generated videos and tiny real network servers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fixtures.media import make_h264_mp4, moving_square_frames, write_video

FPS = 25.0
GOP = 10


@pytest.fixture(scope="session")
def h264_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames of a moving square, 160x120, 25 fps, a keyframe every 10 frames."""
    return make_h264_mp4(
        tmp_path_factory.mktemp("media") / "square.mp4", frames=60, fps=FPS, gop=GOP
    )


@pytest.fixture(scope="session")
def mpegts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A streamable MPEG-TS (no index needed) of 100 moving-square frames."""
    path = tmp_path_factory.mktemp("media") / "square.ts"
    return write_video(
        path, moving_square_frames(100, 160, 120), fps=FPS, gop=GOP, container_format="mpegts"
    )


class StreamServer:
    """Serves one file over HTTP; with ``stall_after`` it sends that many bytes, then freezes."""

    def __init__(self, payload: bytes, stall_after: int | None) -> None:
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                cut = len(payload) if stall_after is None else stall_after
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                if stall_after is not None:
                    server.release.wait(30)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stream.ts"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., StreamServer]]:
    """``serve(path, stall_after=None)`` starts a StreamServer stopped after the test."""
    servers: list[StreamServer] = []

    def start(path: Path, stall_after: int | None = None) -> StreamServer:
        server = StreamServer(path.read_bytes(), stall_after)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a frozen camera)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()
