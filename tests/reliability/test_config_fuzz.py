"""Property-based fuzzing of cameras.yaml: any broken file gives a ConfigError naming the file
(and the camera, when the damage is inside one), never another exception."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from monitor.config import Config, ConfigError, load_config

Node = Any
PathKey = tuple[Any, ...]

VALID: dict[str, Any] = {
    "site": {"name": "Lincoln High", "timezone": "America/Chicago", "holidays": ["2026-12-24"]},
    "storage": {"path": "data", "database": "sqlite:///data/hotspot.db", "retention_days": 30,
                "min_free_mb": 256},
    "schedules": {
        "after-hours": {"windows": [{"days": ["mon", "fri"], "from": "15:30", "to": "07:00"}],
                        "on_holidays": "all-day"},
    },
    "cameras": [
        {"id": "east-stairwell", "name": "East stairwell", "source": "rtsp://cam/stream1",
         "zones": [{"id": "landing", "polygon": [[0.1, 0.2], [0.6, 0.2], [0.6, 0.95], [0.1, 0.95]],
                    "schedule": "after-hours", "min_area": 0.02}],
         "privacy": {"mask": "outside-zones", "style": "fill",
                     "zones": [{"polygon": [[0.7, 0.0], [1.0, 0.0], [1.0, 0.4]]}]},
         "recording": {"pre_roll": 5, "post_roll": 10, "max_clip": 300}},
        {"id": "lot", "source": "/videos/lot.mp4", "loop": True,
         "zones": [{"id": "row-b", "polygon": [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]}],
         "detection": {"analysis_fps": 5, "threshold": 25}},
    ],
}

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    text, st.sampled_from(["", "24:00", "25:61", "mon", "../../etc", "rtsp://", "-1"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=3)), max_leaves=8)


def paths_of(node: Node, prefix: PathKey = ()) -> list[PathKey]:
    """Every location in the tree, parents before children."""
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += paths_of(child, (*prefix, index))
    return found


def parent_of(tree: Node, where: PathKey) -> Node:
    node = tree
    for key in where[:-1]:
        node = node[key]
    return node


@st.composite
def mutated(draw: st.DrawFn) -> tuple[dict[str, Any], list[PathKey]]:
    """The valid config with one to three random structural mutations, and where they hit."""
    tree = copy.deepcopy(VALID)
    hits: list[PathKey] = []
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        everywhere = paths_of(tree)[1:]
        in_cameras = [p for p in everywhere if len(p) > 2 and p[0] == "cameras"]
        where = draw(st.sampled_from(in_cameras if in_cameras and draw(st.booleans()) else everywhere))
        parent, key = parent_of(tree, where), where[-1]
        operation = draw(st.sampled_from(["replace", "delete", "extra", "duplicate"]))
        if operation == "replace":
            parent[key] = draw(values)
        elif operation == "delete":
            del parent[key]
        elif operation == "extra" and isinstance(parent[key], dict):
            parent[key][draw(text)] = draw(values)
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = draw(values)
        hits.append(where)
        if len(paths_of(tree)) < 2:
            break
    return tree, hits


def load_text(data: bytes) -> Config:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cameras.yaml"
        path.write_bytes(data)
        try:
            return load_config(path)
        except ConfigError as exc:
            assert str(exc).startswith(f"{path}: "), str(exc)
            raise


def dump(tree: dict[str, Any]) -> bytes:
    with tempfile.TemporaryFile("w+b") as handle:
        YAML().dump(tree, handle)
        handle.seek(0)
        return handle.read()


def camera_names(tree: dict[str, Any], index: int) -> set[str]:
    """How a message may name camera ``index``: by its id when it has one, else by position."""
    names = {f"#{index + 1}"}
    cameras = tree.get("cameras")
    if (isinstance(cameras, list) and index < len(cameras) and isinstance(cameras[index], dict)
            and "id" in cameras[index]):
        names.add(repr(cameras[index]["id"]))
    return names


def test_the_unmutated_config_is_valid() -> None:
    config = load_text(dump(VALID))
    assert [c.id for c in config.cameras] == ["east-stairwell", "lot"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_structural_mutations_give_a_config_error_naming_file_and_camera(
    case: tuple[dict[str, Any], list[PathKey]]
) -> None:
    tree, hits = case
    try:
        load_text(dump(tree))
    except ConfigError as exc:
        message = str(exc)
        assert exc.problems and all(p.strip() for p in exc.problems)
        inside = {h[1] for h in hits if len(h) > 2 and h[0] == "cameras" and isinstance(h[1], int)}
        if len(hits) == 1 and inside:
            names = camera_names(tree, inside.pop())
            assert any(name in message for name in names), (names, message)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_damaged_text_gives_a_config_error_naming_the_file(data: st.DataObject) -> None:
    raw = dump(VALID)
    cut = data.draw(st.integers(0, len(raw)))
    damage = data.draw(st.sampled_from(["truncate", "bytes", "insert"]))
    if damage == "truncate":
        broken = raw[:cut]
    elif damage == "bytes":
        broken = data.draw(st.binary(max_size=200))
    else:
        broken = raw[:cut] + data.draw(st.binary(min_size=1, max_size=8)) + raw[cut:]
    try:
        load_text(broken)
    except ConfigError:
        pass
