"""N processes at once, each playing a file in real time: our camera workers or bare decoders.

Ours are the real ``monitor.workers.camera_worker.worker_main`` processes, spawned as the supervisor spawns
them, reading a looping file source paced at its frame rate. The reference is a process that
only demuxes and decodes the same file at the same pace. Both report the frames they handled
about once a second; a process holds real time when its frame rate over the measuring window
stays at the file's rate.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

import av
import psutil

from bench.sites import camera_entry, write_site
from monitor.config import Config, load_config
from monitor.site.runtime import Runtime
from monitor.workers.camera_worker import WorkerArgs, worker_main
from monitor.workers.messages import StatusMessage
from monitor.workers.spawning import start_without_main

CTX = mp.get_context("spawn")
MAX_LAG = 1.0  # seconds behind before a paced decoder gives up catching up (as capture does)
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class Report:
    """A process said at ``at`` (monotonic) that it handled ``fps`` frames/s lately."""

    process: str
    at: float
    fps: float
    online: bool


def paced_decode(path: str, name: str, reports: mp.Queue, stop: Event, decode: bool = True) -> None:  # type: ignore[type-arg]
    """Decode ``path`` in a loop at its frame rate until ``stop``; report like a worker.
    ``decode`` False only demuxes: the floor of a camera whose decode gate is closed."""
    container = av.open(path)
    stream = container.streams.video[0]
    period = 1.0 / float(stream.average_rate or 15)
    reports.put(Report(name, time.monotonic(), 0.0, True))
    began = since = time.monotonic()
    due = count = 0
    while not stop.is_set():
        for packet in container.demux(stream):
            lag = time.monotonic() - (began + due * period)
            if lag > MAX_LAG:
                began += lag
            elif lag < 0:
                time.sleep(-lag)
            count += len(stream.codec_context.decode(packet if packet.size else None)) if decode else 1
            due += 1
            if (now := time.monotonic()) - since >= 1.0:
                reports.put(Report(name, now, count / (now - since), True))
                since, count = now, 0
            if stop.is_set():
                break
        container.seek(0)
    container.close()


class Fleet:
    """Start, watch and stop N processes of one kind (``ours`` or ``decode``)."""

    def __init__(self, kind: str, path: Path, count: int, folder: Path, *, mode: str = "idle",
                 encoder_preset: str | None = None, max_clip: float = 3600.0,
                 originals: dict[str, object] | None = None) -> None:
        if kind not in ("ours", "decode"):
            raise ValueError(f"unknown fleet kind {kind!r}; use ours or decode")
        self.kind, self.count = kind, count
        self.reports: mp.Queue = CTX.Queue()  # type: ignore[type-arg]
        self._stop = CTX.Event()
        self._controls: list[mp.Queue] = []  # type: ignore[type-arg]
        self._originals = originals
        self._config = self._site(path, folder, mode, encoder_preset, max_clip) if kind == "ours" else None
        self.processes = [self._spawn(index, path) for index in range(count)]
        self.seen: list[Report] = []

    def _site(self, path: Path, folder: Path, mode: str, encoder_preset: str | None,
              max_clip: float) -> Config:
        """One site for all workers; opened once here so they do not race to create the keys."""
        config = write_site(folder, [camera_entry(f"cam-{i}", path, mode=mode, loop=True,
                                                  encoder_preset=encoder_preset, max_clip=max_clip)
                                     for i in range(self.count)], originals=self._originals)
        loaded = load_config(config)
        Runtime.open(loaded).close()
        return loaded

    def _spawn(self, index: int, path: Path) -> BaseProcess:
        name = f"cam-{index}"
        if self._config is None:
            process = CTX.Process(target=paced_decode, args=(str(path), name, self.reports, self._stop),
                                  daemon=True)
        else:
            control = CTX.Queue()
            self._controls.append(control)
            process = CTX.Process(target=worker_main, args=(WorkerArgs(self._config, name),
                                                            self.reports, control), daemon=True)
        start_without_main(process)  # as the supervisor starts workers
        return process

    def drain(self, timeout: float) -> None:
        try:
            item = self.reports.get(timeout=timeout)
        except queue.Empty:
            return
        now = time.monotonic()
        if isinstance(item, tuple):  # a camera worker's (token, message)
            item = item[1]
        if isinstance(item, StatusMessage):
            item = Report(item.camera_id, now, item.fps, item.state == "online")
        if isinstance(item, Report):
            self.seen.append(item)

    def wait_online(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while len({r.process for r in self.seen if r.online}) < self.count:
            if time.monotonic() > deadline or not all(p.is_alive() for p in self.processes):
                raise RuntimeError(f"{self.kind}: not every one of {self.count} processes came online")
            self.drain(0.5)

    def watch(self, seconds: float) -> list[Report]:
        """Reports received during the next ``seconds``."""
        return self.since(watch_all([self], seconds))

    def since(self, start: float) -> list[Report]:
        return [r for r in self.seen if r.at >= start]

    def peak_rss(self) -> list[int]:
        """Each live process's peak resident set size so far (VmHWM), in bytes."""
        return [peak_rss(p.pid) for p in self.processes if p.is_alive() and p.pid is not None]

    def stop(self) -> None:
        """Stop every process, draining their reports meanwhile: a process exits only once what
        it put on the queue is read, and a hundred of them fill its pipe."""
        self._stop.set()
        for control in self._controls:
            control.put(("stop", None))
        deadline = time.monotonic() + 15
        while any(p.is_alive() for p in self.processes) and time.monotonic() < deadline:
            self.drain(0.05)
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(5)


def watch_all(fleets: list[Fleet], seconds: float) -> float:
    """Collect every fleet's reports for ``seconds``; returns the monotonic start time."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        for fleet in fleets:
            fleet.drain(0.05)
    return start


def peak_rss(pid: int) -> int:
    """The kernel's high-water mark of resident memory, so no short peak is missed."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return psutil.Process(pid).memory_info().rss


def mean_rates(reports: list[Report], count: int) -> list[float]:
    """Each process's mean reported frame rate; 0 for a process that never reported."""
    rates = []
    for index in range(count):
        mine = [r.fps for r in reports if r.process == f"cam-{index}" and r.fps > 0]
        rates.append(sum(mine) / len(mine) if mine else 0.0)
    return rates
