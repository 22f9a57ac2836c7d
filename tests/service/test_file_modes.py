"""What another local account could read of what the service writes: nothing, unless an admin
names a group. (``hotspot serve`` with a recording camera is checked in test_serve.py.)"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from monitor.store.file_modes import KEYS_FOLDER
from tests.service.conftest import Server, make_site, serve

ZONE = {"id": "landing", "polygon": [[0.1, 0.2], [0.6, 0.2], [0.6, 0.95], [0.1, 0.95]], "schedule": "after-hours"}


def loose_files(root: Path, *, allowed: int = 0) -> list[str]:
    """Paths under ``root`` (and ``root``) with permission bits for group or others beyond ``allowed``."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        extra = mode & 0o077 & ~(allowed if path.is_file() else allowed | (allowed >> 2 & 0o011))
        if path == root:  # camera workers running as their own user may pass, never list
            extra &= ~0o001
        if extra:
            found.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return found


def edit_zones(server: Server) -> None:
    with server.client("admin") as admin:
        saved = admin.put("/api/cameras/east-stairwell/zones", json={"zones": [ZONE], "privacy_zones": []})
        assert saved.status_code == 200, saved.text


def test_storage_and_rewritten_config_are_private(tmp_path: Path) -> None:
    stray = tmp_path / "data" / "hotspot.db"  # as 'hotspot users add' leaves it before the first start
    stray.parent.mkdir()
    old_umask = os.umask(0o022)
    try:
        stray.touch(mode=0o644)
        site = make_site(tmp_path)
        with serve(site.app) as url:
            server = Server(url, site)
            site.add_clip()
            edit_zones(server)
    finally:
        os.umask(old_umask)
    assert (site.storage / "hotspot.db-wal").exists() or (site.storage / "hotspot.db").exists()
    assert loose_files(site.storage) == []
    assert stat.S_IMODE(site.config_path.stat().st_mode) == 0o600


def test_a_configured_group_may_read_but_never_the_key(tmp_path: Path) -> None:
    group = "daemon"
    gid = grp.getgrnam(group).gr_gid
    # camera workers as the service's user: with a worker user the storage folder also lets it
    # pass (o+x), which tests/monitor/workers/test_privileges.py checks
    site = make_site(tmp_path, config={"storage": {"path": str(tmp_path / "data"), "group": group,
                                                   "database": f"sqlite:///{tmp_path}/data/hotspot.db",
                                                   "worker_user": None}})
    with serve(site.app) as url:
        server = Server(url, site)
        site.add_clip()
        edit_zones(server)
    assert loose_files(site.storage, allowed=0o040) == []  # group read (and folder search) only
    keys = site.storage / KEYS_FOLDER
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700  # nothing beneath is reachable but by the owner
    assert stat.S_IMODE((keys / "signing.pem").stat().st_mode) == 0o600
    for path in [site.storage, *site.storage.rglob("*")]:
        if keys not in path.parents:
            assert path.stat().st_gid == gid, path
    clip_folder = next((site.storage / "clips").rglob("*.mp4")).parent
    assert stat.S_IMODE(clip_folder.stat().st_mode) == 0o2750
    config = site.config_path.stat()
    assert stat.S_IMODE(config.st_mode) == 0o640 and config.st_gid == gid
