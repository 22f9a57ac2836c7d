"""Camera workers run as unprivileged users when the service runs as root.

A worker parses untrusted stream data, so a decoder bug is a foothold. Started by root, each
worker drops to its user before it opens its stream: with ``storage.worker_user: per-camera``
(the default) each camera's worker has its own uid and gid (``monitor.workers.camera_uids``),
so one compromised worker cannot write, read or signal another camera's; with a user name all
workers share that user. Either way a worker can read neither the signing key (``keys/`` is
0700, ``signing.pem`` 0600, root's) nor the database file (0600, or 0640 for ``storage.group``),
cannot write the custody checkpoints or ``quarantine/``, and cannot signal the supervisor. It
keeps what recording needs: its camera's folders under ``clips/``, ``originals/``,
``snapshots/``, ``live/`` and ``journals/`` are its own, and the folders above let it pass
(``monitor.store.file_modes``). Started as any other user, workers run as that user: there is
no line to draw, and docs/ARCHITECTURE.md says so.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import pwd
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from monitor.config.models import PER_CAMERA, Storage
from monitor.store.file_modes import FileModes, Owner
from monitor.workers.camera_uids import assign, check_unused

log = logging.getLogger(__name__)

PR_SET_NO_NEW_PRIVS = 38


class WorkerUserError(RuntimeError):
    """The worker user cannot be used: it does not exist, or cannot reach the storage folder."""


@dataclass(frozen=True)
class WorkerUser:
    name: str
    uid: int
    gid: int

    @property
    def owner(self) -> Owner:
        return self.uid, self.gid


def worker_users(storage: Storage, root: Path, cameras: Iterable[str], modes: FileModes) -> dict[str, WorkerUser] | None:
    """Who each camera's worker becomes (cameras not seen before are given a uid), or None: not
    root, or ``storage.worker_user`` null. Per camera, every camera ever given a uid is named."""
    if not storage.worker_user or os.geteuid() != 0:
        return None
    if storage.worker_user == PER_CAMERA:
        check_unused(storage.worker_uids)
        uids = assign(root, cameras, storage.worker_uids, modes)
        return {camera: WorkerUser(f"uid {uid} (camera {camera})", uid, uid) for camera, uid in uids.items()}
    shared = worker_user(storage.worker_user)
    assert shared is not None
    return dict.fromkeys(cameras, shared)


def owners(users: dict[str, WorkerUser] | None) -> dict[str, Owner] | None:
    return None if users is None else {camera: user.owner for camera, user in users.items()}


def worker_user(name: str | None) -> WorkerUser | None:
    """The named user all camera workers share, or None (not root, or ``storage.worker_user`` unset)."""
    if not name or os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise WorkerUserError(f"storage.worker_user {name!r}: no such user; create it (useradd "
                              "--system --no-create-home hotspot-worker) or name another") from None
    if entry.pw_uid == 0:
        raise WorkerUserError(f"storage.worker_user {name!r} is root; workers must run unprivileged")
    return WorkerUser(name, entry.pw_uid, entry.pw_gid)


def check_reachable(root: Path, user: WorkerUser) -> None:
    """The folders a worker writes are its own (``monitor.store.file_modes``); every folder
    above the storage folder must let it pass, or the worker would die at its first clip."""
    for folder in (root, *root.parents):
        mode = folder.stat()
        allowed = stat.S_IXOTH if mode.st_gid != user.gid and mode.st_uid != user.uid else stat.S_IXGRP
        if not mode.st_mode & (allowed | (stat.S_IXUSR if mode.st_uid == user.uid else 0)):
            raise WorkerUserError(f"camera workers run as {user.name}, which cannot enter {folder} "
                                  f"(mode {oct(mode.st_mode & 0o777)}): chmod o+x {folder}, or set "
                                  "storage.worker_user")


PRELOAD = ("encodings.utf_16_be",)
"""Modules a worker loads only later (canonical JSON sorts keys as UTF-16): loaded before the
drop, for a Python installed where the worker user cannot read (a pyenv under /root)."""


def drop_privileges(user: WorkerUser) -> None:
    """In the worker, first thing: become ``user`` for good (no way back, no setuid gain)."""
    for module in PRELOAD:
        importlib.import_module(module)
    os.setgroups([])
    os.setgid(user.gid)
    os.setuid(user.uid)
    if os.getuid() != user.uid or os.geteuid() != user.uid:
        raise WorkerUserError(f"could not become {user.name}")
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise WorkerUserError("a worker could become root again after dropping privileges")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        log.warning("could not set no_new_privs: errno %d", ctypes.get_errno())
