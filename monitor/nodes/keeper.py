"""One node's lease keeper: it heartbeats, renews this node's camera leases, and starts or
stops cameras as leases are won, lost or shared out again.

Footage comes first: while the database cannot be reached, the node keeps recording the cameras
it holds (no other node can take them without the same database). A node that learns, once it
reaches the database again, that another node took a camera stops recording it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError

from monitor.config import Config
from monitor.nodes.lease_book import Holder, LeaseBook
from monitor.nodes.sharing import plan_moves

log = logging.getLogger(__name__)


class LeaseHost(Protocol):
    """What the keeper needs of the supervisor."""

    @property
    def config(self) -> Config: ...

    def take_camera(self, camera_id: str, before: Holder) -> None:
        """Recover what the previous holder left, then start recording."""

    def drop_camera(self, camera_id: str) -> None:
        """Stop recording and write what the worker sent (blocks until done)."""

    def lease_status(self, camera_id: str) -> dict[str, Any]:
        """The camera's status as other nodes' dashboards should show it."""


class LeaseKeeper:
    """Two threads: one only renews (so a camera that takes long to stop or to recover never
    delays the renewal of the others, which would let another node take them from a live
    node), one takes and lets go of cameras."""

    def __init__(self, book: LeaseBook, host: LeaseHost, *, heartbeat: float) -> None:
        self._book = book
        self._host = host
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._lost: set[str] = set()  # renewal found them taken by another node: to stop here
        self._holders: dict[str, Holder] = {}
        self._threads = [threading.Thread(target=self._every_heartbeat, args=(step,), name=name, daemon=True)
                         for step, name in ((self.renew, "lease-renewer"), (self.move, "lease-mover"))]

    @property
    def node(self) -> str:
        return self._book.node

    def holders(self) -> dict[str, Holder]:
        """Every camera's lease as last read (refreshed every heartbeat)."""
        with self._lock:
            return dict(self._holders)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop renewing and moving; the cameras' workers are stopped by the caller."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(60)

    def leave(self) -> None:
        """After a clean stop (workers gone, their journals written): let every camera go now,
        so another node takes them at its next heartbeat instead of after the lease runs out."""
        try:
            self._book.release(set(self._held))
            self._book.leave()
        except DBAPIError as exc:
            log.warning("node %s: leases not released (they expire by themselves): %s",
                        self.node, str(exc.orig or exc).strip())

    def _every_heartbeat(self, step: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                step()
            except DBAPIError as exc:
                log.warning("node %s: leases not renewed or moved, recording goes on: %s",
                            self.node, str(exc.orig or exc).strip())
            except Exception:  # the keeper must outlive any one bad turn
                log.exception("node %s: lease keeping failed", self.node)
            self._stop.wait(self._heartbeat)

    def renew(self) -> None:
        """Say this node is alive, extend its leases, and note those another node took."""
        self._book.beat()
        with self._lock:
            held = set(self._held)
        kept = self._book.renew({c: self._host.lease_status(c) for c in sorted(held)})
        holders = self._book.holders()
        with self._lock:
            lost = held - kept - {c for c, h in holders.items() if h.released and h.node == self.node}
            self._held -= lost
            self._lost |= lost
            self._holders = holders

    def move(self) -> None:
        """Stop what was lost, then take or let go of cameras per the plan."""
        with self._lock:
            lost, self._lost = self._lost, set()
            held = set(self._held)
        for camera_id in sorted(lost):
            log.error("node %s: camera %s was taken by another node; stopping it here", self.node, camera_id)
            self._host.drop_camera(camera_id)
        now = self._book.beat()
        moves = plan_moves(self._host.config.cameras, me=self.node, held=held, holders=self._book.holders(),
                           live_nodes=self._book.live_nodes(now), now=now)
        for camera_id in moves.release:
            if self._stop.is_set():
                return
            log.info("node %s: letting camera %s go to another node", self.node, camera_id)
            self._host.drop_camera(camera_id)
            self._let_go(camera_id)
        for camera_id in moves.take:
            if self._stop.is_set():
                return
            before = self._book.take(camera_id)
            if before is not None:
                with self._lock:
                    self._held.add(camera_id)
                try:
                    self._host.take_camera(camera_id, before)
                except BaseException:
                    self._let_go(camera_id)  # no worker records it here: the lease must not be renewed
                    raise

    def _let_go(self, camera_id: str) -> None:
        """Stop renewing a camera this node no longer records, then release its lease. Renewal
        stops first: a release that fails (the database busy or away) leaves a lease that expires
        by itself, never one renewed for a camera nobody records."""
        with self._lock:
            self._held.discard(camera_id)
        self._book.release({camera_id})
