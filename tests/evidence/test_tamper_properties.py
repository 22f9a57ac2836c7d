"""Property tests: any tampering with the log or the clips is detected; honest use always verifies."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from evidence.actions import Action
from evidence.verify import StoreReport, verify_store
from tests.evidence import tampering
from tests.evidence.conftest import open_site, seal_real_clip

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CLIPS = ["clip0", "clip1", "clip2"]


@contextmanager
def copy_of(template: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "data"
        shutil.copytree(template, root)
        yield root


def clip_file(root: Path, clip_id: str) -> Path:
    return root / "clips" / "cam1" / "2026-03-02" / f"{clip_id}.mp4"


def changed_value(data: st.DataObject, old: Any) -> Any:
    """A different value for a column: a one-character edit, arbitrary text, or NULL."""
    if isinstance(old, int):
        return data.draw(st.integers(-10, 10_000).filter(lambda v: v != old), label="seq")
    edits = [st.none(), st.text(max_size=80)]
    if old:
        position = data.draw(st.integers(0, len(old) - 1), label="position")
        edits.append(st.characters().map(lambda c: old[:position] + c + old[position + 1:]))
    value = data.draw(st.one_of(edits).filter(lambda v: v != old), label="value")
    return value


def modify(root: Path, data: st.DataObject, rows: list[dict[str, Any]]) -> None:
    row = data.draw(st.sampled_from(rows), label="row")
    column = data.draw(st.sampled_from(tampering.COLUMNS), label="column")
    value = changed_value(data, row[column])
    if column == "seq" and value in {r["seq"] for r in rows}:
        reject()
    try:
        tampering.set_field(root, row["seq"], column, value)
    except sqlite3.IntegrityError:
        reject()  # the schema itself refused it (NOT NULL or a duplicate hash)


def tamper_log(root: Path, data: st.DataObject) -> str:
    rows = tampering.rows(root)
    seqs = [r["seq"] for r in rows]
    op = data.draw(st.sampled_from(["modify", "delete", "insert", "reorder", "truncate"]), label="op")
    if op == "modify":
        modify(root, data, rows)
    elif op == "delete":
        tampering.delete(root, data.draw(st.sampled_from(seqs), label="seq"))
    elif op == "insert":
        at = data.draw(st.integers(1, len(rows) + 1), label="at")
        previous = rows[max(at - 2, 0)]
        row = tampering.forged_row(previous, seq=at, own_key=data.draw(st.booleans(), label="own key"))
        tampering.insert(root, row, at=at)
    elif op == "reorder":
        a, b = data.draw(st.lists(st.sampled_from(seqs), min_size=2, max_size=2, unique=True), label="pair")
        tampering.swap(root, a, b)
    else:
        tampering.truncate(root, data.draw(st.integers(0, len(rows) - 1), label="keep"))
    return op


def tamper_clip(root: Path, data: st.DataObject) -> str:
    victim = clip_file(root, data.draw(st.sampled_from(CLIPS), label="clip"))
    size = victim.stat().st_size
    op = data.draw(st.sampled_from(["flip", "cut", "remove", "swap"]), label="op")
    if op == "flip":
        content = bytearray(victim.read_bytes())
        content[data.draw(st.integers(0, size - 1), label="at")] ^= data.draw(st.integers(1, 255), label="mask")
        victim.write_bytes(bytes(content))
    elif op == "cut":
        with victim.open("r+b") as handle:
            handle.truncate(data.draw(st.integers(0, size - 1), label="length"))
    elif op == "remove":
        victim.unlink()
    else:
        other = data.draw(st.sampled_from([c for c in CLIPS if clip_file(root, c) != victim]), label="other")
        shutil.copyfile(clip_file(root, other), victim)
    return op


def tampered_report(template: Path, tamper: Callable[[Path], str]) -> tuple[str, StoreReport]:
    """Tamper with a fresh copy of the template store and verify it."""
    with copy_of(template) as root:
        op = tamper(root)
        engine = create_engine(f"sqlite:///{root}/hotspot.db")
        try:
            return op, verify_store(root, engine)
        finally:
            engine.dispose()


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_any_tampering_with_the_log_is_detected(site_template: Path, data: st.DataObject) -> None:
    op, report = tampered_report(site_template, lambda root: tamper_log(root, data))
    assert not report.ok, f"{op} went unnoticed"


@SETTINGS
@given(data=st.data())
def test_any_tampering_with_a_clip_is_detected(site_template: Path, data: st.DataObject) -> None:
    op, report = tampered_report(site_template, lambda root: tamper_clip(root, data))
    assert report.kinds() in ({"modified"}, {"missing"}), f"{op}: {report.failures}"


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
DETAILS = st.dictionaries(st.text(max_size=10), st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8), max_size=4)
HONEST = st.sampled_from(["seal", "act", "act", "rotate", "retention", "config"])
ACTIONS = st.sampled_from([Action.VIEWED, Action.DOWNLOADED, Action.HOLD_SET, Action.HOLD_RELEASED,
                           Action.VERIFIED, Action.EXPORTED])


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(HONEST, ACTIONS, st.text(min_size=1, max_size=30).filter(str.strip), DETAILS),
                      min_size=1, max_size=10),
       every=st.integers(1, 5))
def test_honest_use_always_verifies(mp4_library: list[Path], steps: list[tuple[str, Action, str, dict]],
                                    every: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        site = open_site(Path(folder) / "data", checkpoint_every=every)
        sealed: list[str] = []
        alive: list[str] = []
        for kind, action, actor, details in steps:
            if kind == "seal" or not sealed:
                clip_id = f"clip{len(sealed)}"
                seal_real_clip(site, clip_id, len(sealed), source=mp4_library[len(sealed) % len(mp4_library)])
                sealed.append(clip_id)
                alive.append(clip_id)
            elif kind == "act":
                site.ev.append(action, actor=actor, clip_id=sealed[-1], details=details)
            elif kind == "rotate":
                site.ev.rotate_key(actor=actor)
            elif kind == "retention" and alive:
                clip_id = alive.pop(0)
                site.clip_path(clip_id).unlink()
                site.ev.append(Action.DELETED_BY_RETENTION, actor="system", clip_id=clip_id, details=details)
            else:
                site.ev.append(Action.CONFIG_CHANGED, actor=actor, details={"config_hash": "ef" * 32, **details})
        report = verify_store(site.root, site.engine)
        site.engine.dispose()
        assert report.ok, report.failures
