"""The custody log's tables. ``evidence`` owns them; the application only ever inserts.

Entries keep their signed text verbatim (time as its ISO string, details as canonical JSON)
so re-encoding can never change what verification recomputes.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CustodyEntry(Base):
    __tablename__ = "custody_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    clip_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    object_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_clip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(64))


class AppendLock(Base):
    """One row every append updates first: the row lock serialises writers on any database
    (SQLite takes its write lock, PostgreSQL its row lock) before the head is read."""

    __tablename__ = "custody_append_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appends: Mapped[int] = mapped_column(Integer, default=0)


class TreeNode(Base):
    """Every complete perfect subtree of the RFC 9162 Merkle tree over the log, so roots and
    proofs for any size take O(log^2 n) reads. Derived data: verification rebuilds the tree
    from the entries themselves and never trusts this table."""

    __tablename__ = "custody_tree"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


metadata = Base.metadata
