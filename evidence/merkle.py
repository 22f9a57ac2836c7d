"""RFC 9162 (RFC 6962) Merkle tree hashing, inclusion and consistency proofs.

The custody log is a Merkle tree whose leaves are the entries' signed bytes, so a signed
tree head (a checkpoint) commits to every entry before it, and two checkpoints can be shown to
extend one another without the log. The code follows the RFC's definitions literally:
``MTH``, ``PATH`` and ``PROOF`` (section 2.1) and the verification algorithms of sections
2.1.3.2 and 2.1.4.2, which are also what the shell steps of VERIFY.md replay.

Proof generation reads subtree hashes through a :data:`NodeReader`, so the same code serves a
list of leaves in memory and the node table of the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from evidence.errors import ChainError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeReader = Callable[[int, int], bytes]
"""``(level, index)`` -> hash of the perfect subtree covering leaves
``[index * 2**level, (index + 1) * 2**level)``."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two smaller than ``size`` (which must be at least 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def subtree_hash(nodes: NodeReader, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces."""
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        return nodes(size.bit_length() - 1, start // size)
    k = split_point(size)
    return node_hash(subtree_hash(nodes, start, start + k), subtree_hash(nodes, start + k, end))


def root_hash(nodes: NodeReader, size: int) -> bytes:
    """MTH(D[0:size])."""
    return subtree_hash(nodes, 0, size)


def inclusion_proof(nodes: NodeReader, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]): the audit path from leaf ``index`` to the root, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(subtree_hash(nodes, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(nodes, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(nodes: NodeReader, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[0:second]): shows the tree of ``first`` leaves is a prefix of ``second``."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")
    if first in (0, second):
        return []
    return _subproof(nodes, first, 0, second, True)


def _subproof(nodes: NodeReader, m: int, start: int, end: int, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [subtree_hash(nodes, start, end)]
    k = split_point(n)
    if m <= k:
        return _subproof(nodes, m, start, start + k, complete) + [subtree_hash(nodes, start + k, end)]
    return _subproof(nodes, m - k, start + k, end, False) + [subtree_hash(nodes, start, start + k)]


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root an audit path leads to; raises if it cannot fit."""
    if not 0 <= index < size:
        raise ChainError(f"inclusion proof: leaf {index} is outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "inclusion proof")
        if sn == 0:
            raise ChainError(f"inclusion proof for leaf {index} of {size}: too many hashes")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ChainError(f"inclusion proof for leaf {index} of {size}: too few hashes")
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ChainError unless ``proof`` shows leaf ``index`` is in the tree with ``root``."""
    found = root_from_inclusion(leaf, index, size, proof)
    if found != root:
        raise ChainError(f"inclusion proof for leaf {index} of {size} leads to {found.hex()}, "
                         f"not the root {root.hex()}")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 section 2.1.4.2: raise ChainError unless tree ``first`` is a prefix of ``second``."""
    what = f"consistency proof from {first} to {second} leaves"
    if not 0 <= first <= second:
        raise ChainError(f"{what}: the second tree is smaller")
    if first == second:
        if proof or first_root != second_root:
            raise ChainError(f"{what}: equal sizes need equal roots and an empty proof")
        return
    if first == 0:
        if proof:
            raise ChainError(f"{what}: an empty tree needs an empty proof")
        return
    if not proof:
        raise ChainError(f"{what}: the proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    _check_hash(path[0], what)
    fr = sr = path[0]
    for c in path[1:]:
        _check_hash(c, what)
        if sn == 0:
            raise ChainError(f"{what}: too many hashes")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ChainError(f"{what}: the log was rewritten between them (roots "
                         f"{first_root.hex()} and {second_root.hex()} do not fit the proof)")


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ChainError(f"{what}: a hash is not {HASH_SIZE} bytes")


@dataclass
class MemoryTree:
    """All leaf hashes in memory, every perfect subtree cached: for verifiers and tests."""

    levels: list[list[bytes]] = field(default_factory=lambda: [[]])

    @classmethod
    def of(cls, entries: Iterable[bytes]) -> MemoryTree:
        tree = cls()
        for entry in entries:
            tree.append(leaf_hash(entry))
        return tree

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash, completing every perfect subtree it closes."""
        for level, index, value in new_nodes(self.size, leaf, self.node):
            if len(self.levels) == level:
                self.levels.append([])
            assert len(self.levels[level]) == index
            self.levels[level].append(value)

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self.node, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(self.node, index, self.size if size is None else size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(self.node, first, self.size if second is None else second)


def new_nodes(leaf_index: int, leaf: bytes, left_siblings: Callable[[int, int], bytes]) -> list[tuple[int, int, bytes]]:
    """The nodes appending leaf ``leaf_index`` completes: ``(level, index, hash)``, leaf first.

    ``left_siblings(level, index)`` reads an already stored node; only the log's right edge is read.
    """
    made = [(0, leaf_index, leaf)]
    level, index, current = 0, leaf_index, leaf
    while index & 1:
        current = node_hash(left_siblings(level, index - 1), current)
        level, index = level + 1, index >> 1
        made.append((level, index, current))
    return made
