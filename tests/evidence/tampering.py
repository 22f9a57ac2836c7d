"""What an attacker who controls the database file and the storage folder can do.

Each function edits the real SQLite file or clip files directly, as such an attacker would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.canonical import canonical_json
from evidence.entry import encode_signature
from evidence.hashing import sha256_bytes
from evidence.keys import key_id

COLUMNS = ("seq", "time", "actor", "action", "clip_id", "object_sha256", "details", "prev_hash",
           "prev_clip_hash", "entry_hash", "signature", "key_id")


def connect(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "hotspot.db", isolation_level=None)


def rows(root: Path) -> list[dict[str, Any]]:
    with connect(root) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM custody_log ORDER BY seq")]


def set_field(root: Path, seq: int, column: str, value: Any) -> None:
    with connect(root) as db:
        db.execute(f"UPDATE custody_log SET {column} = ? WHERE seq = ?", (value, seq))


def delete(root: Path, seq: int) -> None:
    with connect(root) as db:
        db.execute("DELETE FROM custody_log WHERE seq = ?", (seq,))


def truncate(root: Path, keep: int) -> None:
    with connect(root) as db:
        db.execute("DELETE FROM custody_log WHERE seq > ?", (keep,))


def swap(root: Path, a: int, b: int) -> None:
    """Exchange the positions of two entries."""
    with connect(root) as db:
        db.execute("UPDATE custody_log SET seq = -1 WHERE seq = ?", (a,))
        db.execute("UPDATE custody_log SET seq = ? WHERE seq = ?", (a, b))
        db.execute("UPDATE custody_log SET seq = ? WHERE seq = -1", (b,))


def forged_row(previous: dict[str, Any], *, seq: int, own_key: bool,
               key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """A well-formed, correctly hashed entry signed by a key that is not the site's (or by ``key``)."""
    own_key = own_key or key is not None
    key = key or Ed25519PrivateKey.generate()
    kid = key_id(key.public_key()) if own_key else previous["key_id"]
    body = {"type": "hotspot-custody-entry", "v": 1, "seq": seq, "time": previous["time"], "actor": "intruder",
            "action": "viewed", "clip_id": None, "object_sha256": None, "details": {},
            "prev_hash": previous["entry_hash"], "prev_clip_hash": None, "key_id": kid}
    data = canonical_json(body)
    return {**{k: body[k] for k in COLUMNS if k in body}, "details": "{}", "entry_hash": sha256_bytes(data),
            "signature": encode_signature(key.sign(data))}


def insert(root: Path, row: dict[str, Any], *, at: int) -> None:
    """Insert ``row`` at position ``at``, moving every later entry one place down."""
    with connect(root) as db:
        for (seq,) in db.execute("SELECT seq FROM custody_log WHERE seq >= ? ORDER BY seq DESC", (at,)).fetchall():
            db.execute("UPDATE custody_log SET seq = seq + 1 WHERE seq = ?", (seq,))
        columns = ", ".join(row)
        db.execute(f"INSERT INTO custody_log ({columns}) VALUES ({', '.join('?' * len(row))})",
                   [row[c] for c in row])


def hide_newest(root: Path, count: int) -> list[int]:
    """Remove the newest ``count`` entries as a thorough insider would: the rows, the clip files
    they sealed, the Merkle tree's nodes and every local checkpoint that still names them."""
    import json

    with connect(root) as db:
        newest = db.execute("SELECT max(seq) FROM custody_log").fetchone()[0]
        keep = newest - count
        for (details,) in db.execute("SELECT details FROM custody_log WHERE seq > ? AND action = 'sealed'", (keep,)):
            (root / json.loads(details)["path"]).unlink()
        db.execute("DELETE FROM custody_log WHERE seq > ?", (keep,))
        db.execute("DELETE FROM custody_tree")
    local = root / "checkpoints.log"
    lines = [line for line in local.read_text().splitlines() if json.loads(line)["checkpoint"]["size"] <= keep]
    local.write_text("".join(f"{line}\n" for line in lines))
    return list(range(keep + 1, newest + 1))
