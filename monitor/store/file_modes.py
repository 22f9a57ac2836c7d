"""Who may read what the service writes: its own user only, unless an admin names a group.

The storage folder holds clips, snapshots, the database (with camera passwords in the
custody log's configuration entries) and the signing key; the config holds camera passwords
and the database URL. Files are 0600 and folders 0700; with ``storage.group`` set, the group
may read them (0640, folders 2750: the set-group-id bit makes new files and folders inherit
the group). The signing key's folder stays 0700 either way.

The process umask does the work for everything created from now on, whichever library
creates it (SQLite its WAL, PyAV a clip); ``secure_storage`` also brings files left by an
older version or another command (``hotspot users`` creating the database) into line.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

KEYS_FOLDER = "keys"
WORKER_FOLDERS = ("clips", "originals", "snapshots", "live", "journals")
"""What camera workers write, each camera only in its own folder under each
(``clips/<camera>/``...). When workers run as their own users (started by root), each
camera's folders (not the files the service writes in them) belong to its worker's uid and
the folders above them are root's, which workers may pass (o+x) but not list or write."""

FORMER_WORKER_FOLDER = "pending"
"""Workers kept their journals here once; it now holds the service's queues only."""

Owner = tuple[int, int]
"""A uid and gid."""


@dataclass(frozen=True)
class FileModes:
    group: str | None = None
    workers: Mapping[str, Owner] | None = None
    """Camera id -> who its worker runs as, when workers drop privileges
    (monitor.workers.privileges); None when they keep the service's user."""

    @property
    def gid(self) -> int | None:
        return grp.getgrnam(self.group).gr_gid if self.group else None

    @property
    def umask(self) -> int:
        return 0o027 if self.group else 0o077

    @property
    def file_mode(self) -> int:
        return 0o640 if self.group else 0o600

    @property
    def folder_mode(self) -> int:
        return 0o2750 if self.group else 0o700

    def fix(self, path: Path | str, *, private: bool = False, passable: bool = False,
            owner: Owner | None = None, dir_fd: int | None = None) -> None:
        """Give ``path`` (relative to ``dir_fd`` if given) its mode (and group); ``private`` keeps
        it to the owner whatever the group. ``passable``: a folder above workers' folders, the
        service's, which they may pass; ``owner``: inside a camera's folders, the worker that
        owns the folders there.

        Done on the opened file, never by name again: a worker may swap a file or folder of
        its own for a link while this runs as root, and a chown by name would follow it."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EACCES):
                return  # a link, a socket, or a file this (non-root) user cannot open
            raise
        try:
            self._fix_open(fd, private=private, passable=passable, owner=owner)
        finally:
            os.close(fd)

    def _fix_open(self, fd: int, *, private: bool, passable: bool, owner: Owner | None) -> None:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid() != 0:
            return  # another account's file (a group member running 'hotspot verify'): not ours to change
        folder = stat.S_ISDIR(info.st_mode)
        if private:
            mode = 0o700 if folder else 0o600
        else:
            mode = self.folder_mode if folder else self.file_mode
        gid = self.gid
        if passable and self.workers is not None:
            mode |= 0o001  # workers may pass, not list
        if owner is not None and folder and (info.st_uid, info.st_gid) != (owner[0], owner[1] if gid is None else gid):
            os.fchown(fd, owner[0], owner[1] if gid is None else gid)
            info = os.fstat(fd)
        if stat.S_IMODE(info.st_mode) != mode:
            os.fchmod(fd, mode)
        if gid is not None and not private and info.st_gid != gid:
            os.fchown(fd, -1, gid)

    def owner_of(self, root: Path, path: Path) -> Owner | None:
        """The worker owning ``path``'s folder: ``<worker folder>/<camera>/...``."""
        parts = Path(path).relative_to(root).parts
        if self.workers is None or len(parts) < 2 or parts[0] not in WORKER_FOLDERS:
            return None
        return self.workers.get(parts[1])


def secure_storage(root: Path, modes: FileModes) -> None:
    """Set the umask for this process (and the workers it starts), and fix the modes of the
    storage folder and everything under it."""
    os.umask(modes.umask)
    root.mkdir(parents=True, exist_ok=True)
    modes.fix(root, passable=True)
    if modes.workers is not None:
        for name in (*WORKER_FOLDERS, FORMER_WORKER_FOLDER):
            _take_back(root / name)
        for camera in modes.workers:
            camera_folders(root, camera, modes, walk=False)
    for folder, folders, files, folder_fd in os.fwalk(root):  # never follows a link
        here = Path(folder)
        private = here == root / KEYS_FOLDER or (root / KEYS_FOLDER) in here.parents
        for name in (*folders, *files):
            try:
                modes.fix(name, dir_fd=folder_fd, private=private or (here == root and name == KEYS_FOLDER),
                          passable=here == root and name in WORKER_FOLDERS, owner=modes.owner_of(root, here / name))
            except FileNotFoundError:  # a worker's temporary file, gone already
                continue


def _take_back(top: Path) -> None:
    """A top worker folder is the service's: an older version gave it to the shared worker user."""
    top.mkdir(exist_ok=True)
    if os.geteuid() == 0 and top.lstat().st_uid != 0:
        os.chown(top, 0, -1, follow_symlinks=False)


def camera_folders(root: Path, camera: str, modes: FileModes, *, walk: bool = True) -> None:
    """Create the folders ``camera``'s worker writes and give them to it (a camera added while
    the service runs; ``walk``: also the folders already under them)."""
    for name in WORKER_FOLDERS:
        top = root / name
        top.mkdir(exist_ok=True)
        modes.fix(top, passable=True)
        (top / camera).mkdir(exist_ok=True)
        owner = modes.owner_of(root, top / camera)
        modes.fix(top / camera, owner=owner)
        for _, folders, _, folder_fd in os.fwalk(top / camera) if walk else ():
            for name in folders:
                modes.fix(name, dir_fd=folder_fd, owner=owner)


def write_private_text(path: Path, text: str, modes: FileModes) -> None:
    """Replace ``path`` atomically with ``text``; the new file is never readable beyond ``modes``."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, modes.file_mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), modes.file_mode)  # the umask may have taken bits away; never added
        if modes.gid is not None:
            os.fchown(handle.fileno(), -1, modes.gid)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
