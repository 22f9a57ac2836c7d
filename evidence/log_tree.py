"""The custody log's Merkle tree as stored in the database (table ``custody_tree``).

Each append adds its leaf and the subtrees it completes inside the append's transaction, so
the tree always has exactly the log's entries. A store created before the tree existed, or a
tree table that disagrees with the log's size, is rebuilt from the entries on the next append.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select

from evidence.custody import CustodyEntry, TreeNode
from evidence.merkle import consistency_proof, inclusion_proof, leaf_hash, new_nodes, root_hash


class DatabaseTree:
    """Read and extend the node table through one connection."""

    def __init__(self, conn: Connection, row_bytes: Callable[[Mapping[str, Any] | RowMapping], bytes]) -> None:
        self._conn = conn
        self._row_bytes = row_bytes
        self._cache: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            value = self._conn.execute(
                select(TreeNode.hash).where(TreeNode.level == level, TreeNode.idx == index)).scalar()
            if value is None:
                raise LookupError(f"custody tree has no node ({level}, {index})")
            self._cache[key] = bytes.fromhex(value)
        return self._cache[key]

    def append(self, seq: int, entry_bytes: bytes) -> None:
        """Add entry ``seq`` (leaf ``seq - 1``), first catching the tree up with the log if needed."""
        index = seq - 1
        if (index and not self.has_leaf(index - 1)) or self.has_leaf(index):
            index = self.rebuild(before=seq)
        self._store(new_nodes(index, leaf_hash(entry_bytes), self.node))

    def rebuild(self, *, before: int) -> int:
        """Recompute the tree of the entries before ``before`` from the entries; returns its size."""
        self._conn.execute(delete(TreeNode))
        self._cache.clear()
        rows = self._conn.execute(select(CustodyEntry.__table__).where(CustodyEntry.seq < before)
                                  .order_by(CustodyEntry.seq)).mappings()
        size = 0
        for size, row in enumerate(rows, start=1):
            self._store(new_nodes(size - 1, leaf_hash(self._row_bytes(row)), self.node))
        return size

    def root(self, size: int) -> bytes:
        return root_hash(self.node, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(self.node, index, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return consistency_proof(self.node, first, second)

    def has_leaf(self, index: int) -> bool:
        return self._conn.execute(
            select(TreeNode.idx).where(TreeNode.level == 0, TreeNode.idx == index)).first() is not None

    def _store(self, nodes: list[tuple[int, int, bytes]]) -> None:
        self._conn.execute(insert(TreeNode), [{"level": level, "idx": index, "hash": value.hex()}
                                              for level, index, value in nodes])
        self._cache.update({(level, index): value for level, index, value in nodes})
