"""The opened resources of one site: configuration, storage folder, database and evidence store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from evidence.store import EvidenceStore
from monitor.config import Config
from monitor.store.db import make_engine, session_factory
from monitor.store.migrate import upgrade
from monitor.store.paths import StoragePaths


@dataclass
class Runtime:
    config: Config
    paths: StoragePaths
    engine: Engine
    sessions: sessionmaker[Session]
    evidence: EvidenceStore

    @classmethod
    def open(cls, config: Config) -> Runtime:
        """Create folders and tables as needed and load the site signing key (fails closed)."""
        paths = StoragePaths(Path(config.storage.path).resolve())
        paths.ensure()
        engine = make_engine(config.storage.database)
        upgrade(engine)
        witness = Path(config.storage.witness_path) if config.storage.witness_path else None
        evidence = EvidenceStore.open(
            paths.root, engine, checkpoint_every=config.storage.checkpoint_every, witness=witness
        )
        return cls(config, paths, engine, session_factory(engine), evidence)

    def close(self) -> None:
        self.engine.dispose()
