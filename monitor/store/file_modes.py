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

import grp
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

KEYS_FOLDER = "keys"
WORKER_FOLDERS = ("clips", "snapshots", "live", "pending")
"""What camera workers write. When they run as their own user (started by root), these folders
(not the files the service writes in them) belong to that user, and the storage folder lets it
pass (o+x) without listing it."""


@dataclass(frozen=True)
class FileModes:
    group: str | None = None
    worker_uid: int | None = None
    """The unprivileged user camera workers run as, when they do (monitor.workers.privileges)."""

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

    def fix(self, path: Path, *, private: bool = False, role: str = "") -> None:
        """Give ``path`` its mode (and group); ``private`` keeps it to the owner whatever the group.
        ``role``: "root" for the storage folder, "worker" for a folder workers write."""
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() != 0:
            return  # another account's file (a group member running 'hotspot verify'): not ours to change
        folder = stat.S_ISDIR(info.st_mode)
        if private:
            mode = 0o700 if folder else 0o600
        else:
            mode = self.folder_mode if folder else self.file_mode
        if self.worker_uid is not None and role == "root":
            mode |= 0o001  # the worker user may pass, not list
        if self.worker_uid is not None and role == "worker" and folder and info.st_uid != self.worker_uid:
            os.chown(path, self.worker_uid, -1)
        if stat.S_IMODE(info.st_mode) != mode:
            os.chmod(path, mode)
        gid = self.gid
        if gid is not None and not private and info.st_gid != gid:
            os.chown(path, -1, gid)


def secure_storage(root: Path, modes: FileModes) -> None:
    """Set the umask for this process (and the workers it starts), and fix the modes of the
    storage folder and everything under it."""
    os.umask(modes.umask)
    root.mkdir(parents=True, exist_ok=True)
    modes.fix(root, role="root")
    if modes.worker_uid is not None:
        for name in WORKER_FOLDERS:
            (root / name).mkdir(exist_ok=True)
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        private = here == root / KEYS_FOLDER or (root / KEYS_FOLDER) in here.parents
        top = here.relative_to(root).parts[:1]
        for name in (*folders, *files):
            role = "worker" if (top or (name,))[0] in WORKER_FOLDERS else ""
            try:
                modes.fix(here / name, private=private or (here == root and name == KEYS_FOLDER), role=role)
            except FileNotFoundError:  # a worker's temporary file, gone already
                continue


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
