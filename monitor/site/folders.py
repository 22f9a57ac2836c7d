"""What a camera's pipeline needs of its site: the configuration and the storage folders.

No database and no signing key: a camera worker parses untrusted stream data, so it never
holds either. Its records travel to the supervisor, which writes and seals them
(``monitor.seal.worker_outbox``); ``monitor.site.runtime.Runtime`` adds the database side for the
processes that do.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from monitor.config import Config
from monitor.store.paths import StoragePaths

MIB = 1024 * 1024


@dataclass
class Site:
    config: Config
    paths: StoragePaths
    recording: set[str] = field(default_factory=set)
    """Clips this process is still writing: a recovery pass must leave them alone."""

    @classmethod
    def open(cls, config: Config) -> Site:
        paths = StoragePaths(Path(config.storage.path).resolve())
        paths.ensure()
        return cls(config, paths)

    def free_mb(self) -> float:
        """Free space on the filesystem holding the storage folder, in MiB."""
        return shutil.disk_usage(self.paths.root).free / MIB

    def below_floor(self) -> bool:
        return self.free_mb() < self.config.storage.min_free_mb
