"""Each camera's worker gets its own numeric uid, kept for good in the storage folder.

With one shared worker user, a compromised worker of camera A could stop B's worker, rewrite
B's open clip and add a matching seal line to B's journal: the supervisor would seal the
foreign bytes as a normal clip of B. With a uid per camera, B's folders are B's alone
(``monitor.store.file_modes``) and A cannot signal B's process.

The uids come from ``storage.worker_uids`` and need no account: the worker calls ``setgid`` and
``setuid`` with the numbers. ``worker-uids.json`` (root's, 0600) keeps who has which, so a
camera keeps its uid across restarts (its folders stay its own) and a camera added later never
shifts the others; a removed camera keeps its uid in case it comes back.
"""

from __future__ import annotations

import grp
import json
import logging
import pwd
from collections.abc import Iterable
from pathlib import Path

from monitor.config.models import WorkerUids
from monitor.store.file_modes import FileModes, write_private_text

log = logging.getLogger(__name__)

ASSIGNMENTS = "worker-uids.json"
"""Under the storage folder: {camera id: uid}."""


class CameraUidError(RuntimeError):
    """The range cannot serve: it is full, or an account on this machine uses one of its ids."""


def check_unused(uids: WorkerUids) -> None:
    """A uid an account also has would let that account write the camera's files (and the
    camera's worker write that account's): the range must be free on this machine."""
    last = uids.first + uids.count - 1
    for kind, entries in (("user", ((e.pw_name, e.pw_uid) for e in pwd.getpwall())),
                          ("group", ((e.gr_name, e.gr_gid) for e in grp.getgrall()))):
        for name, number in entries:
            if uids.first <= number <= last:
                raise CameraUidError(f"storage.worker_uids {uids.first}-{last}: {number} is the {kind} "
                                     f"{name!r} on this machine; move the range to ids no account uses")


def assign(root: Path, cameras: Iterable[str], uids: WorkerUids, modes: FileModes) -> dict[str, int]:
    """Every camera's uid (cameras without one get the lowest free uid, and the file is saved).
    A uid outside the current range is given up and replaced."""
    path = root / ASSIGNMENTS
    stored = _read(path)
    last = uids.first + uids.count - 1
    kept = {camera: uid for camera, uid in stored.items() if uids.first <= uid <= last}
    for camera in set(stored) - set(kept):
        log.warning("camera %s: uid %d is outside storage.worker_uids %d-%d; it gets a new one",
                    camera, stored[camera], uids.first, last)
    taken = set(kept.values())
    free = (uid for uid in range(uids.first, last + 1) if uid not in taken)
    for camera in cameras:
        if camera in kept:
            continue
        uid = next(free, None)
        if uid is None:
            raise CameraUidError(f"storage.worker_uids {uids.first}-{last}: all {uids.count} uids are "
                                 f"given to cameras (in {path}); raise count to add camera {camera!r}")
        kept[camera] = uid
    if kept != stored:
        write_private_text(path, json.dumps(kept, indent=1, sort_keys=True) + "\n", modes)
    return kept


def _read(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise CameraUidError(f"{path}: not the JSON the service writes ({exc}); restore it from a "
                             "backup, or remove it to give every camera a new uid") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and type(v) is int for k, v in data.items()):
        raise CameraUidError(f"{path}: expected {{camera id: uid}}; restore it from a backup, or remove it "
                             "to give every camera a new uid")
    return data
