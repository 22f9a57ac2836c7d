"""The Merkle tree against the RFC 6962 reference vectors and against its own definition.

The vectors are the certificate-transparency reference test data (the eight leaves below),
as published in google/trillian merkle/log_verifier_test.go and transparency-dev/merkle.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.errors import ChainError
from evidence.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]


def hx(*values: str) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


INCLUSION = [
    (0, 1, []),
    (0, 2, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")),
    (1, 2, hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")),
    (2, 3, hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (1, 5, hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (0, 8, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (5, 8, hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]

CONSISTENCY = [
    (1, 1, []),
    (1, 8, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (3, 7, hx("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
              "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
              "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
              "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e")),
    (4, 7, hx("837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e")),
    (6, 7, hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    return MemoryTree.of(LEAVES)


def test_prefixes_and_empty_tree() -> None:
    assert EMPTY_ROOT == ROOTS[0] == MemoryTree().root()
    assert leaf_hash(b"") == ROOTS[1]  # 0x00 || "" for a leaf
    assert node_hash(leaf_hash(LEAVES[0]), leaf_hash(LEAVES[1])) == ROOTS[2]


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix(tree: MemoryTree, size: int) -> None:
    assert tree.root(size) == ROOTS[size]
    assert MemoryTree.of(LEAVES[:size]).root() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_vectors(tree: MemoryTree, index: int, size: int, path: list[bytes]) -> None:
    assert tree.inclusion_proof(index, size) == path
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, path, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_vectors(tree: MemoryTree, first: int, second: int, path: list[bytes]) -> None:
    assert tree.consistency_proof(first, second) == path
    verify_consistency(first, second, ROOTS[first], ROOTS[second], path)


@pytest.mark.parametrize(("index", "size", "path"), [c for c in INCLUSION if c[2]])
def test_inclusion_refuses_what_the_reference_verifier_refuses(index: int, size: int, path: list[bytes]) -> None:
    leaf, root = leaf_hash(LEAVES[index]), ROOTS[size]
    wrong = [
        (leaf, index ^ 1, size, path, root), (leaf, index, size * 2, path, root),
        (leaf, index, size // 2 or 1, path, root) if size > 2 else (leaf, index, size, path, EMPTY_ROOT),
        (leaf_hash(b"WrongLeaf"), index, size, path, root), (leaf, index, size, path, EMPTY_ROOT),
        (leaf, index, size, [*path, root], root), (leaf, index, size, path[:-1], root),
        (leaf, index, size, [root, *path], root), (leaf, index, size, [b"", *path], root),
    ]
    wrong += [(leaf, index, size, path[:i] + [EMPTY_ROOT] + path[i + 1:], root) for i in range(len(path))]
    for args in wrong:
        with pytest.raises(ChainError):
            verify_inclusion(*args)


@pytest.mark.parametrize(("first", "second", "path"), [c for c in CONSISTENCY if c[2]])
def test_consistency_refuses_what_the_reference_verifier_refuses(first: int, second: int,
                                                                 path: list[bytes]) -> None:
    a, b = ROOTS[first], ROOTS[second]
    wrong = [
        (first - 1, second, a, b, path), (first + 1, second, a, b, path), (first ^ 2, second, a, b, path),
        (first, second * 2, a, b, path), (first, second // 2, a, b, path),
        (first, second, hashlib.sha256(b"WrongRoot").digest(), b, path),
        (first, second, a, hashlib.sha256(b"WrongRoot").digest(), path), (first, second, b, a, path),
        (first, second, a, b, []), (first, second, a, b, [*path, a]), (first, second, a, b, path[:-1]),
        (first, second, a, b, [path[0], *path]), (first, second, a, b, [b"", *path]),
    ]
    wrong += [(first, second, a, b, path[:i] + [EMPTY_ROOT] + path[i + 1:]) for i in range(len(path))]
    for args in wrong:
        with pytest.raises(ChainError):
            verify_consistency(*args)


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 6962 section 2.1 defines it, recursively on the leaf data."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


entries = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@given(entries)
def test_root_matches_the_recursive_definition_for_every_prefix(leaves: list[bytes]) -> None:
    tree = MemoryTree.of(leaves)
    for size in range(len(leaves) + 1):
        assert tree.root(size) == reference_root(leaves[:size])


@given(entries, st.data())
def test_every_inclusion_proof_verifies_and_pins_its_leaf(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MemoryTree.of(leaves)
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    assert root_from_inclusion(leaf_hash(leaves[index]), index, size, proof) == tree.root(size)
    other = data.draw(st.integers(0, size - 1).filter(lambda i: leaves[i] != leaves[index]) if len(
        set(leaves[:size])) > 1 else st.just(index))
    if leaves[other] != leaves[index]:
        with pytest.raises(ChainError):
            verify_inclusion(leaf_hash(leaves[other]), index, size, proof, tree.root(size))


@given(entries, st.data())
def test_consistency_holds_for_prefixes_and_fails_for_a_changed_past(leaves: list[bytes],
                                                                    data: st.DataObject) -> None:
    tree = MemoryTree.of(leaves)
    second = data.draw(st.integers(1, len(leaves)))
    first = data.draw(st.integers(1, second))
    proof = tree.consistency_proof(first, second)
    verify_consistency(first, second, tree.root(first), tree.root(second), proof)
    changed = data.draw(st.integers(0, first - 1))
    forged = MemoryTree.of([*leaves[:changed], leaves[changed] + b"!", *leaves[changed + 1:second]])
    with pytest.raises(ChainError):
        verify_consistency(first, second, forged.root(first), tree.root(second), proof)
