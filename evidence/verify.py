"""Verify a whole evidence store, in the order an examiner would.

1. load the public keyring; 2. recompute every entry's hash and signature, and check that each
was signed by the key then active (the key chain of ``key_rotated`` entries); 3. check every
link and every signed checkpoint (and witness copy); 4. re-hash every sealed clip still on disk;
5. list files nobody sealed; 6. check that entry times never go backwards, and every timestamp
authority's token. All findings are collected, so one report says everything wrong.

``verify_bundle`` is re-exported for convenience; offline tools import it from
``evidence.bundle``, which needs no database library.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine, inspect, select

from evidence.bundle import BundleReport, verify_bundle
from evidence.custody import CustodyEntry
from evidence.errors import KeyringError
from evidence.keys import PublicKeyring
from evidence.report import Failure, NoProgress, ProgressSink, StoreReport
from evidence.store import KEYS_DIR
from evidence.timestamps import TOKENS_DIR
from evidence.verify_clips import check_clips, find_unsealed, sealed_clips
from evidence.verify_log import check_checkpoints, check_entries, check_key_chain
from evidence.verify_time import check_entry_times, check_timestamps
from evidence.witness import FolderWitness, Witness

__all__ = ["BundleReport", "StoreReport", "verify_bundle", "verify_store"]


def verify_store(storage_root: Path, engine: Engine, *, witness: Path | None = None,
                 witnesses: Sequence[Witness] = (), progress: ProgressSink | None = None,
                 timestamp_roots: Sequence[x509.Certificate] | None = None) -> StoreReport:
    """Check the custody log, the checkpoints and every clip file; never raises for findings.

    ``witness`` is a folder witness (``storage.witness_path``), ``witnesses`` any others: the
    log is compared with every checkpoint each of them holds, so entries removed after the
    newest witnessed checkpoint are named even when the local checkpoint file was rewritten.
    Timestamp tokens are checked against ``timestamp_roots`` (the authorities' root certificates).
    """
    root = Path(storage_root)
    sink = progress or NoProgress()
    failures: list[Failure] = []
    try:
        keys = PublicKeyring.load(root / KEYS_DIR)
    except KeyringError as exc:
        failures.append(Failure("keyring", str(exc)))
        keys = PublicKeyring({})
    rows = _rows(engine)
    sink.stage("checking custody entries", len(rows))
    entries = check_entries(rows, keys)
    sink.advance(len(rows))
    chain, key_failures = check_key_chain(rows, entries.valid)
    sources = [FolderWitness(root), *([FolderWitness(witness)] if witness is not None else []), *witnesses]
    broken = min((f.seq for f in entries.failures if f.seq is not None), default=None)
    checkpoints = check_checkpoints(rows, sources, keys, broken_from=broken, chain=chain)
    clips = sealed_clips(rows)
    clip_failures, hashed = check_clips(root, clips, sink)
    unsealed, warnings = find_unsealed(root, clips)
    times = check_timestamps(root / TOKENS_DIR, rows, checkpoints.signed, timestamp_roots)
    failures += entries.failures + key_failures + checkpoints.failures + clip_failures + unsealed
    failures += check_entry_times(rows) + times.failures
    warnings += times.warnings
    return StoreReport(
        entries=len(rows), checkpoints=checkpoints.checkpoints, clips=len({c.clip_id for c in clips.values()}),
        bytes_hashed=hashed,
        key_ids=tuple(keys.key_ids), failures=tuple(failures), warnings=tuple(warnings), timestamps=times.tokens,
        recovered=tuple(c.clip_id for c in clips.values() if c.recovered),
    )


def _rows(engine: Engine) -> list[dict[str, object]]:
    """Raw rows: verification must read a tampered value as it is, not as a model would parse it."""
    if not inspect(engine).has_table(CustodyEntry.__tablename__):
        return []
    with engine.connect() as conn:
        result = conn.execute(select(CustodyEntry.__table__).order_by(CustodyEntry.seq))
        return [dict(row) for row in result.mappings()]
