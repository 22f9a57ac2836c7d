"""The opened resources of one site: configuration, storage folder, database and evidence store.

The service and ``hotspot run`` must keep their cameras recording while the database is down
(a PostgreSQL restart, a SQLite file locked by a backup), so the database side can be opened
later: ``connect`` is retried by whoever needs the database next, and ``database_error`` says
why it is not there. Camera workers never open one: they only need ``monitor.site.folders.Site``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from evidence.keys import SigningKeyring
from evidence.store import KEYS_DIR, EvidenceStore
from monitor.config import Config
from monitor.site.evidence_options import store_options
from monitor.site.folders import Site
from monitor.store.db import describe_unavailable, make_engine, session_factory
from monitor.store.file_modes import FileModes, secure_storage
from monitor.store.migrate import upgrade
from monitor.workers.privileges import WorkerUser, owners, worker_users

log = logging.getLogger(__name__)

CONNECT_ATTEMPTS = 3  # processes racing to create the schema: the losers see it done next time


@dataclass(kw_only=True)
class Runtime(Site):
    engine: Engine
    sessions: sessionmaker[Session]
    _evidence: EvidenceStore | None = None
    database_error: str | None = None
    modes: FileModes = field(default_factory=FileModes)
    worker_users: dict[str, WorkerUser] | None = None
    """Who each camera's worker runs as (None: the service's user)."""
    _connecting: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, config: Config, *, require_database: bool = True) -> Runtime:
        """Create folders and tables as needed and load the site signing key (fails closed).

        With ``require_database=False`` an unavailable database is recorded in
        ``database_error`` instead of raised; the key is still loaded now, so a broken keyring
        stops the service at once rather than when the database returns.
        """
        root = Path(config.storage.path).resolve()
        modes = FileModes(config.storage.group)
        os.umask(modes.umask)
        root.mkdir(parents=True, exist_ok=True)
        users = worker_users(config.storage, root, [c.id for c in config.cameras], modes)
        modes = replace(modes, workers=owners(users))
        secure_storage(root, modes)
        paths = Site.open(config).paths
        engine = make_engine(config.storage.database, busy_timeout=config.storage.busy_timeout)
        runtime = cls(config, paths, engine=engine, sessions=session_factory(engine), modes=modes,
                      worker_users=users)
        if require_database:
            runtime.connect()
        elif not runtime.try_connect():
            SigningKeyring.open(paths.root / KEYS_DIR)
            log.warning("database unavailable, recording continues: %s", runtime.database_error)
        return runtime

    @property
    def connected(self) -> bool:
        return self._evidence is not None

    @property
    def evidence(self) -> EvidenceStore:
        """The custody log; opens the database first if that has not happened yet."""
        return self.connect()

    def connect(self) -> EvidenceStore:
        """Bring the schema up to date and open the custody log, once; raises while unavailable."""
        with self._connecting:  # the retry thread and the record applier may both get here
            return self._evidence or self._open_evidence()

    def _open_evidence(self) -> EvidenceStore:
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                upgrade(self.engine)
                evidence = EvidenceStore.open(self.paths.root, self.engine, **store_options(self.config))
            except OperationalError as exc:
                self.database_error = describe_unavailable(exc)
                raise
            except DBAPIError:  # another process created a table between our check and our create
                if attempt == CONNECT_ATTEMPTS:
                    raise
                time.sleep(0.2 * attempt)
                continue
            self._evidence, self.database_error = evidence, None
            return evidence
        raise AssertionError("unreachable")

    def try_connect(self) -> bool:
        """``connect`` for callers that carry on without the database."""
        try:
            self.connect()
        except OperationalError:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()
