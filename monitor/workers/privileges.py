"""Camera workers run as an unprivileged user when the service runs as root.

A worker parses untrusted stream data, so a decoder bug is a foothold. Started by root, each
worker becomes ``storage.worker_user`` (default ``nobody``) before it opens its stream: it
can then read neither the signing key (``keys/`` is 0700, ``signing.pem`` 0600, root's) nor
the database file (0600, or 0640 for ``storage.group``), cannot write the custody checkpoints
or ``quarantine/``, and cannot signal the supervisor. It keeps what recording needs: the
folders ``clips/``, ``snapshots/``, ``live/`` and ``pending/`` belong to the worker user and the
storage folder lets it pass (``monitor.store.file_modes``). Files the service writes there (its
outage queues) stay root's: a worker can remove one but not forge one, since queue files
another user owns are read as untrusted (``monitor.seal.admission``). Started as any other
user, workers run as that user: there is no line to draw, and docs/ARCHITECTURE.md says so.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_NO_NEW_PRIVS = 38


class WorkerUserError(RuntimeError):
    """The worker user cannot be used: it does not exist, or cannot reach the storage folder."""


@dataclass(frozen=True)
class WorkerUser:
    name: str
    uid: int
    gid: int


def worker_user(name: str | None) -> WorkerUser | None:
    """The user camera workers become, or None (not root, or ``storage.worker_user`` unset)."""
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
    """The folders workers write are the worker user's (``monitor.store.file_modes``); every
    folder above them must let it pass, or each worker would die at its first clip."""
    _check_reachable(root, user)


def _check_reachable(root: Path, user: WorkerUser) -> None:
    """Every folder above the storage folder must let the worker user pass."""
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
    os.setgroups([user.gid])
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
