"""The custody log: append signed, hash-linked entries; seal clips; write checkpoints.

The log is also an RFC 9162 Merkle tree (``evidence.log_tree``). A signed checkpoint of its
size and root follows every seal at once, and any other entry within ``checkpoint_interval``
seconds (or ``checkpoint_every`` entries, whichever comes first); each goes to the local
``checkpoints.log`` and to every witness, with a consistency proof from what that witness held.

Several processes (one per camera) append to the same database. Every append is one
transaction that first updates the single lock row, so writers queue on the database's own
lock, then read the head and insert; a unique ``seq`` plus retries keeps the log one linear
chain even if a database lets two writers through.

Only that race is retried. A lock another process keeps, or a database that does not answer,
fails the append after the driver's own wait (SQLite's busy timeout, PostgreSQL's connect
timeout): retrying it here would hold the caller for many timeouts, and the caller knows
better what to do meanwhile (a camera queues the seal and keeps recording).
"""

from __future__ import annotations

import base64
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, insert, select, update
from sqlalchemy import exc as sa_exc

from evidence.actions import SEAL_ACTIONS, Action
from evidence.canonical import canonical_json, parse_canonical
from evidence.checkpoints import (
    FILE_NAME,
    Checkpoint,
    Published,
    make_checkpoint,
    newest_checkpoint,
)
from evidence.custody import AppendLock, CustodyEntry, metadata
from evidence.entry import CustodyRecord, encode_signature, entry_body, format_time
from evidence.errors import ChainError, ClipNotFound, EvidenceError, KeyringError, SignatureError
from evidence.hashing import sha256_bytes
from evidence.keys import PublicKeyring, SigningKeyring, key_id, public_pem
from evidence.log_tree import DatabaseTree
from evidence.timestamps import TOKENS_DIR, Timestamper
from evidence.trust import KeyChain, Rotation
from evidence.verify_log import body_bytes
from evidence.witness import FolderWitness, Witness

CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
APPEND_ATTEMPTS = 40
KEYS_DIR = "keys"
CHECKPOINT_INTERVAL = 60.0
# Entries a checkpoint follows at once: what makes a clip evidence, or removes one.
CHECKPOINT_AT_ONCE = frozenset({Action.SEALED, Action.RECOVERED, Action.QUARANTINED, Action.DELETED_BY_RETENTION})

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Head:
    seq: int
    entry_hash: str | None
    clip_hash: str | None


class EvidenceStore:
    """The custody log of one site, its signing keyring and its checkpoint files."""

    def __init__(self, root: Path, engine: Engine, keys: SigningKeyring, *, checkpoint_every: int,
                 witnesses: Sequence[Witness], checkpoint_interval: float = CHECKPOINT_INTERVAL,
                 clock: Clock = utc_now, timestamper: Timestamper | None = None) -> None:
        self.root = root
        self._engine = engine
        self._keys = keys
        self._every = checkpoint_every
        self._interval = checkpoint_interval
        self._clock = clock
        self._local = FolderWitness(root)
        self.witnesses = tuple(witnesses)
        self.timestamper = timestamper
        self._covered = 0  # largest size this process knows to be checkpointed
        self._covered_at = time.monotonic()
        self._timer: threading.Timer | None = None
        self._timer_lock = threading.Lock()
        self._publish_lock = threading.Lock()  # one checkpoint at a time per process: same order everywhere
        self._checked_key: str | None = None  # the key last found to be the one the log rotated to

    @classmethod
    def open(cls, storage_root: Path, engine: Engine, *, checkpoint_every: int = 50,
             witness: Path | None = None, witnesses: Sequence[Witness] = (),
             checkpoint_interval: float = CHECKPOINT_INTERVAL, clock: Clock = utc_now,
             timestamp_authorities: Sequence[str] = (), timestamp_timeout: float = 5.0) -> EvidenceStore:
        """Load (or create on first run) the signing key and the tables. Fails closed on the key.

        ``witness`` is a folder witness (the ``storage.witness_path`` setting); ``witnesses``
        any others. Each checkpoint is sent to every URL of ``timestamp_authorities`` (RFC 3161)
        in the background. Entries a crash left without a checkpoint get one now.
        """
        if checkpoint_every < 1:
            raise EvidenceError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        if not 0 < checkpoint_interval <= CHECKPOINT_INTERVAL:
            raise EvidenceError(f"checkpoint_interval must be in (0, {CHECKPOINT_INTERVAL:g}] seconds, "
                                f"got {checkpoint_interval}")
        root = Path(storage_root)
        keys = SigningKeyring.open(root / KEYS_DIR)
        _create_tables(engine)
        every = (*([FolderWitness(witness)] if witness is not None else []), *witnesses)
        stamper = (Timestamper(root / TOKENS_DIR, timestamp_authorities, timeout=timestamp_timeout)
                   if timestamp_authorities else None)
        store = cls(root, engine, keys, checkpoint_every=checkpoint_every, witnesses=every,
                    checkpoint_interval=checkpoint_interval, clock=clock, timestamper=stamper)
        with engine.connect() as conn:
            store._finish_rotation(conn)
            store._check_key(conn)
        store._catch_up()
        return store

    def _finish_rotation(self, conn: Connection) -> None:
        """A rotation interrupted by a crash: activate its key if the log introduced it, else drop it."""
        pending = self._keys.pending
        if pending is None:
            return
        chain = log_key_chain(conn, self._keys)
        if chain is not None and chain.current == key_id(pending.public_key()) != self._keys.key_id:
            self._keys.activate(pending)
        else:
            self._keys.discard_pending()

    def _check_key(self, conn: Connection) -> None:
        """Refuse to sign with a key the custody log did not rotate to (a swapped or restored key)."""
        self._keys.refresh()
        if self._checked_key == self._keys.key_id:
            return
        chain = log_key_chain(conn, self._keys)
        if chain is not None and chain.current != self._keys.key_id:
            signing = self.root / KEYS_DIR / "signing.pem"
            how = ("was retired by a key rotation" if self._keys.key_id in chain.keys
                   else "was never introduced by a key rotation")
            raise KeyringError(
                f"{signing}: key {self._keys.key_id} {how}; the custody log says the site signs with key "
                f"{chain.current}. Nothing is signed until this is fixed. Keys change only by `hotspot keys "
                f"rotate`: restore signing.pem from the offline backup of key {chain.current[:16]}...; if that key "
                "is lost or stolen, keep this store as it is, run `hotspot verify`, and start a new site key only "
                "with counsel (see the README, 'The site key')"
            )
        self._checked_key = self._keys.key_id

    @property
    def keys(self) -> SigningKeyring:
        return self._keys

    @property
    def checkpoint_folders(self) -> tuple[Path, ...]:
        """Folders holding a ``checkpoints.log``: the storage folder and any folder witness."""
        return (self.root, *(w.folder for w in self.witnesses if isinstance(w, FolderWitness)))

    def append(self, action: Action, *, actor: str, clip_id: str | None = None,
               object_sha256: str | None = None, details: Mapping[str, Any] | None = None) -> CustodyRecord:
        """Add one signed entry; retried until it is the single next link of the chain.

        Raises the driver's ``OperationalError`` when the database is locked or unreachable,
        with a note naming the entry that was not written.
        """
        action = Action(action)
        checked = _checked_details(action, actor, clip_id, object_sha256, details)
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            try:
                with self._engine.begin() as conn:
                    record = self._append_in(conn, action, actor, clip_id, object_sha256, checked)
                break
            except sa_exc.IntegrityError:  # another writer took the same seq: read the new head
                if attempt == APPEND_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.001, 0.01 * min(attempt, 20)))
            except sa_exc.OperationalError as exc:
                entry = f"{action.value} entry" + (f" for clip {clip_id}" if clip_id else "")
                exc.add_note(f"custody log: {entry} not written: the database is locked or unreachable")
                raise
        self._after_append(record)
        return record

    def seal_clip(self, *, clip_id: str, path: str, sha256: str, size: int, metadata: Mapping[str, Any],
                  incomplete: str | None = None, recovered: bool = False, actor: str = "system",
                  original: Mapping[str, Any] | None = None) -> CustodyRecord:
        """Record a finished clip: its file (relative to the storage folder), hash and metadata.

        ``recovered``: nobody closed the clip (its process died); it is sealed under the
        ``recovered`` action, which verification and bundles report as such.
        ``original``: the native original kept beside it (path, plaintext and ciphertext hashes,
        recipient); one seal covers both files.
        """
        _check_relative(path)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise EvidenceError(f"clip {clip_id}: size must be a non-negative integer, got {size!r}")
        details = {"path": path, "size": size, "metadata": dict(metadata), "incomplete": incomplete}
        if original is not None:
            _check_relative(str(original.get("path", "")))
            for field in ("sha256", "ciphertext_sha256"):
                if not SHA256.match(str(original.get(field, ""))):
                    raise EvidenceError(f"clip {clip_id}: original {field} {original.get(field)!r} is not a SHA-256")
            details["original"] = dict(original)
        action = Action.RECOVERED if recovered else Action.SEALED
        return self.append(action, actor=actor, clip_id=clip_id, object_sha256=sha256,
                           details=details)

    def entries(self, clip_id: str | None = None) -> list[CustodyRecord]:
        """Entries in log order, all of them or one clip's."""
        query = select(CustodyEntry).order_by(CustodyEntry.seq)
        if clip_id is not None:
            query = query.where(CustodyEntry.clip_id == clip_id)
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def rotations(self, *, before: int | None = None) -> list[CustodyRecord]:
        """The ``key_rotated`` entries in log order (those before entry ``before`` when given)."""
        query = select(CustodyEntry).where(CustodyEntry.action == Action.KEY_ROTATED.value)
        if before is not None:
            query = query.where(CustodyEntry.seq < before)
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query.order_by(CustodyEntry.seq)).mappings()]

    def key_chain(self) -> KeyChain | None:
        """The site's keys as the log links them, oldest first (None while the log is empty)."""
        with self._engine.connect() as conn:
            return log_key_chain(conn, self._keys)

    def find_seal(self, clip_id: str) -> CustodyRecord | None:
        """The entry that sealed a clip (``sealed`` or ``recovered``), if it was sealed."""
        query = select(CustodyEntry).where(
            CustodyEntry.clip_id == clip_id, CustodyEntry.action.in_([a.value for a in SEAL_ACTIONS])
        ).order_by(CustodyEntry.seq).limit(1)
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _record(row)

    def sealed(self, clip_id: str) -> CustodyRecord:
        """The SEALED entry of a clip; raises ClipNotFound when there is none."""
        seal = self.find_seal(clip_id)
        if seal is None:
            raise ClipNotFound(f"no sealed clip with id {clip_id!r}")
        return seal

    def head(self) -> CustodyRecord | None:
        query = select(CustodyEntry).order_by(CustodyEntry.seq.desc()).limit(1)
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _record(row)

    def write_checkpoint(self) -> Checkpoint | None:
        """Anchor the current head (none when the log is empty)."""
        head = self.head()
        return None if head is None else self.checkpoint_at(head)

    def checkpoint_at(self, record: CustodyRecord) -> Checkpoint:
        """Sign a checkpoint of the log's first ``record.seq`` entries and publish it everywhere.

        The local file must take it (an error propagates); a witness that cannot be reached is
        logged and skipped: the next checkpoint's consistency proof covers the gap.
        """
        with self._publish_lock:
            return self._publish(record)

    def _publish(self, record: CustodyRecord) -> Checkpoint:
        with self._engine.begin() as conn:
            self._check_key(conn)
            tree = self._tree(conn, record.seq)
            checkpoint = make_checkpoint(size=record.seq, root=tree.root(record.seq).hex(),
                                         head=record.entry_hash, key_id=self._keys.key_id,
                                         sign=self._keys.sign, now=self._clock())
            published = [(w, _linked(checkpoint, w.newest(), tree)) for w in (self._local, *self.witnesses)]
        self._local.publish(published[0][1])
        for witness, line in published[1:]:
            try:
                witness.publish(line)
            except OSError as exc:
                log.warning("checkpoint of %d entries not copied to witness %s: %s",
                            checkpoint.size, witness.name, exc)
        if self.timestamper is not None:
            self.timestamper.submit(checkpoint)
        with self._timer_lock:
            if checkpoint.size >= self._covered:
                self._covered, self._covered_at = checkpoint.size, time.monotonic()
        return checkpoint

    def inclusion_proof(self, seq: int, size: int) -> list[str]:
        """The audit path of entry ``seq`` in the tree of the first ``size`` entries (hex)."""
        with self._engine.begin() as conn:
            return [h.hex() for h in self._tree(conn, size).inclusion_proof(seq - 1, size)]

    def flush_checkpoint(self) -> Checkpoint | None:
        """Checkpoint entries not yet covered (the deadline timer's job, or a clean shutdown's)."""
        with self._timer_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        with self._publish_lock:
            head = self.head()
            return self._publish(head) if head is not None and head.seq > self._covered else None

    def _after_append(self, record: CustodyRecord) -> None:
        with self._timer_lock:
            due = (record.action in CHECKPOINT_AT_ONCE or record.seq == 1 or record.seq - self._covered >= self._every
                   or time.monotonic() - self._covered_at >= self._interval)
            if not due and self._timer is None:
                self._timer = threading.Timer(self._interval, self._on_deadline)
                self._timer.daemon = True
                self._timer.start()
        if due:
            self.checkpoint_at(record)

    def _on_deadline(self) -> None:
        with self._timer_lock:
            self._timer = None
        try:
            self.flush_checkpoint()
        except Exception:  # a timer thread has nobody to raise to; the next append retries
            log.exception("deadline checkpoint failed")

    def _catch_up(self) -> None:
        newest = newest_checkpoint(self.root / FILE_NAME)
        self._covered = newest.size if newest is not None else 0
        head = self.head()
        if head is not None and head.seq > self._covered:
            self.checkpoint_at(head)

    def _tree(self, conn: Connection, size: int) -> DatabaseTree:
        """The stored tree, rebuilt from the log (under the append lock) when it falls short of ``size``."""
        tree = DatabaseTree(conn, _row_bytes)
        if size and not tree.has_leaf(size - 1):
            conn.execute(update(AppendLock).where(AppendLock.id == 1).values(appends=AppendLock.appends + 1))
            tree.rebuild(before=size + 1)
        return tree

    def rotate_key(self, *, actor: str) -> CustodyRecord:
        """Replace the signing key. The old key signs the entry naming the new one."""
        with self._engine.connect() as conn:
            self._check_key(conn)
        old = self._keys.key_id
        new = self._keys.prepare_rotation()
        try:
            record = self.append(Action.KEY_ROTATED, actor=actor, details={
                "old_key_id": old, "new_key_id": key_id(new.public_key()),
                "new_public_key": public_pem(new.public_key()).decode("ascii"),
            })
        except BaseException:
            self._keys.discard_pending()
            raise
        self._keys.activate(new)
        self.checkpoint_at(record)
        return record

    def _append_in(self, conn: Connection, action: Action, actor: str, clip_id: str | None,
                   object_sha256: str | None, details: dict[str, Any]) -> CustodyRecord:
        conn.execute(update(AppendLock).where(AppendLock.id == 1).values(appends=AppendLock.appends + 1))
        head = _read_head(conn, clip_id)
        if action in SEAL_ACTIONS and _is_sealed(conn, clip_id):
            raise EvidenceError(f"clip {clip_id} is already sealed")  # checked under the lock: one seal per clip
        self._check_key(conn)
        values = entry_body(
            seq=head.seq + 1, time=format_time(self._clock()), actor=actor, action=action.value,
            clip_id=clip_id, object_sha256=object_sha256, details=details, prev_hash=head.entry_hash,
            prev_clip_hash=head.clip_hash, key_id=self._keys.key_id,
        )
        signed = canonical_json(values)
        row = {k: values[k] for k in values if k not in ("type", "v")}
        row.update(details=canonical_json(details).decode("utf-8"), entry_hash=sha256_bytes(signed),
                   signature=encode_signature(self._keys.sign(signed)))
        conn.execute(insert(CustodyEntry).values(**row))
        DatabaseTree(conn, _row_bytes).append(head.seq + 1, signed)
        return _record(row)


def _linked(checkpoint: Checkpoint, previous: Checkpoint | None, tree: DatabaseTree) -> Published:
    """The line for one witness: the checkpoint plus its consistency proof with that witness's
    newest (either may be the larger when processes checkpoint concurrently)."""
    if previous is None or previous.root is None or previous.size == checkpoint.size:
        return Published(checkpoint)
    first, second = sorted((previous.size, checkpoint.size))
    try:
        proof = tree.consistency_proof(first, second)
    except LookupError:  # the witness names a size the log no longer reaches: verification reports it
        return Published(checkpoint)
    return Published(checkpoint, previous.size, tuple(h.hex() for h in proof))


def _row_bytes(row: Mapping[str, Any] | RowMapping) -> bytes:
    return _record(row).signed_bytes()


def _create_tables(engine: Engine) -> None:
    """Create the tables and the lock row; several processes may race to do it."""
    for attempt in range(1, 6):
        try:
            metadata.create_all(engine)
            with engine.begin() as conn:
                if conn.execute(select(AppendLock.id)).first() is None:
                    conn.execute(insert(AppendLock).values(id=1, appends=0))
            return
        except (sa_exc.IntegrityError, sa_exc.OperationalError):
            if attempt == 5:
                raise
            time.sleep(0.05 * attempt)


def log_key_chain(conn: Connection, keys: PublicKeyring) -> KeyChain | None:
    """The key chain the log records: the key of entry #1, then each verified ``key_rotated`` entry.

    Raises KeyringError when a rotation does not verify or does not link, so nothing is signed
    with a key whose standing cannot be shown.
    """
    first = conn.execute(select(CustodyEntry.key_id).order_by(CustodyEntry.seq).limit(1)).scalar()
    if first is None:
        return None
    rows = conn.execute(select(CustodyEntry.__table__).where(CustodyEntry.action == Action.KEY_ROTATED.value)
                        .order_by(CustodyEntry.seq)).mappings()
    rotations = []
    for row in rows:
        data = body_bytes(dict(row))
        try:
            if data is None or sha256_bytes(data) != row["entry_hash"]:
                raise SignatureError(f"entry #{row['seq']}: content does not match its recorded hash")
            keys.verify(row["key_id"], data, base64.b64decode(row["signature"]), what=f"entry #{row['seq']}")
            details = parse_canonical(row["details"])
            rotations.append(Rotation(seq=row["seq"], old_key_id=details["old_key_id"],
                                      new_key_id=details["new_key_id"]))
        except (SignatureError, KeyError, TypeError, ValueError) as exc:
            raise KeyringError(f"custody entry #{row['seq']} (a key rotation) does not verify ({exc}); "
                               "run `hotspot verify` before signing anything more") from exc
    try:
        return KeyChain.build(first, rotations)
    except ChainError as exc:
        raise KeyringError(f"{exc}; run `hotspot verify`") from exc


def _read_head(conn: Connection, clip_id: str | None) -> _Head:
    last = conn.execute(
        select(CustodyEntry.seq, CustodyEntry.entry_hash).order_by(CustodyEntry.seq.desc()).limit(1)
    ).first()
    clip_hash = None
    if clip_id is not None:
        clip_hash = conn.execute(
            select(CustodyEntry.entry_hash).where(CustodyEntry.clip_id == clip_id)
            .order_by(CustodyEntry.seq.desc()).limit(1)
        ).scalar()
    return _Head(seq=last.seq if last else 0, entry_hash=last.entry_hash if last else None, clip_hash=clip_hash)


def _is_sealed(conn: Connection, clip_id: str | None) -> bool:
    query = select(CustodyEntry.seq).where(CustodyEntry.clip_id == clip_id,
                                           CustodyEntry.action.in_([a.value for a in SEAL_ACTIONS])).limit(1)
    return conn.execute(query).first() is not None


def _record(row: Mapping[str, Any] | RowMapping) -> CustodyRecord:
    """A stored row as a record; a row no append could have written means the log was altered."""
    try:
        return CustodyRecord(
            seq=row["seq"], time=datetime.fromisoformat(row["time"]), actor=row["actor"],
            action=Action(row["action"]), clip_id=row["clip_id"], object_sha256=row["object_sha256"],
            details=parse_canonical(row["details"]), prev_hash=row["prev_hash"],
            prev_clip_hash=row["prev_clip_hash"], entry_hash=row["entry_hash"],
            signature=row["signature"], key_id=row["key_id"],
        )
    except (TypeError, ValueError) as exc:
        raise EvidenceError(f"custody entry #{row['seq']} is unreadable ({exc}); the log was altered, "
                            "run `hotspot verify`") from exc


def _checked_details(action: Action, actor: str, clip_id: str | None, object_sha256: str | None,
                     details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Refuse malformed entries before they become permanent."""
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 200:
        raise EvidenceError(f"{action.value}: actor must be a non-empty name of at most 200 characters")
    if clip_id is not None and not (isinstance(clip_id, str) and CLIP_ID.match(clip_id)):
        raise EvidenceError(f"{action.value}: clip id {clip_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
    if object_sha256 is not None and not (isinstance(object_sha256, str) and SHA256.match(object_sha256)):
        raise EvidenceError(f"{action.value}: object_sha256 {object_sha256!r} is not 64 lower-case hex digits")
    if action in SEAL_ACTIONS and (clip_id is None or object_sha256 is None):
        raise EvidenceError(f"{action.value}: a seal needs a clip id and the clip's SHA-256")
    value = dict(details or {})
    try:
        canonical_json(value)
    except Exception as exc:  # rfc8785 raises several types for unencodable values
        raise EvidenceError(f"{action.value}: details are not canonical JSON ({exc})") from exc
    return value


def _check_relative(path: str) -> None:
    pure = PurePosixPath(path)
    if not isinstance(path, str) or not path or "\\" in path or pure.is_absolute() or ".." in pure.parts:
        raise EvidenceError(f"clip path {path!r} must be relative to the storage folder, POSIX, without '..'")
