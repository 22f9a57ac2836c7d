"""Native originals through ``hotspot analyze``: a real video recorded, masked, remuxed, sealed.

The original must be the source's own packets (a demux of the same file), encrypted for a
masked camera so that not one run of its bytes is found anywhere in the storage folder.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pyrage
import pytest
from sqlalchemy import create_engine

from evidence.custodians import NewKey, rebuild_identity, split_new_key
from evidence.hashing import sha256_file
from evidence.store import EvidenceStore
from tests.conftest import base_config, write_config
from tests.fixtures import scenes

START = "2026-11-23T16:05:00-06:00"  # a Monday, after hours in Chicago
NO_MASK = {"mask": "privacy-zones-only", "zones": []}


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> scenes.Scene:
    return scenes.walk_through(tmp_path_factory.mktemp("scene") / "walk.mp4", seconds=8)


@pytest.fixture(scope="module")
def key() -> NewKey:
    return split_new_key(["principal", "counsel", "director"], threshold=2, site="Test School")


def analyze(tmp_path: Path, scene: scenes.Scene, *, originals: dict[str, object],
            privacy: dict[str, object] | None = None) -> tuple[Path, dict[str, object]]:
    zone = {"id": "door", "polygon": [list(p) for p in scene.polygons["zone"]], "min_area": 0.02}
    camera = {"id": "hall", "source": str(scene.path), "zones": [zone],
              "recording": {"pre_roll": 1.0, "post_roll": 1.0, "max_clip": 60}}
    if privacy is not None:
        camera["privacy"] = privacy
    config = write_config(tmp_path, base_config(tmp_path / "data", cameras=[camera], originals=originals))
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "analyze", str(scene.path), "--camera", "hall",
         "--config", str(config), "--start", START],
        check=False, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(events) == 1, events
    return tmp_path / "data", events[0]


def seal_of(root: Path, clip_id: str) -> dict[str, object]:
    engine = create_engine(f"sqlite:///{root}/hotspot.db")
    return EvidenceStore.open(root, engine).sealed(clip_id).details


def packets(data: bytes | Path) -> list[av.Packet]:
    container = av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data))
    return [p for p in container.demux(container.streams.video[0]) if p.size]


def assert_camera_span(original: bytes, source: Path, event: dict[str, object]) -> None:
    """A run of the source's own packets, from a keyframe at or before the clip's first frame
    to the clip's last frame, with the source's timing."""
    kept, whole = packets(original), packets(source)
    raw = [bytes(p) for p in whole]
    first = raw.index(bytes(kept[0]))
    assert [bytes(p) for p in kept] == raw[first:first + len(kept)]
    assert kept[0].is_keyframe
    start = datetime.fromisoformat(str(event["start"])) - datetime.fromisoformat(START)
    end = datetime.fromisoformat(str(event["end"])) - datetime.fromisoformat(START)
    zero = min(p.pts for p in whole)

    def seconds(packet: av.Packet) -> float:
        return float((packet.pts - zero) * packet.time_base)

    frame = 0.1  # one frame of slack
    assert seconds(whole[first]) <= start.total_seconds() + frame
    assert max(seconds(p) for p in whole[first:first + len(kept)]) >= end.total_seconds() - frame
    steps = [b.pts - a.pts for a, b in itertools.pairwise(kept)]
    source_steps = [b.pts - a.pts for a, b in zip(whole[first:], whole[first + 1:first + len(kept)], strict=False)]
    assert [s * kept[0].time_base for s in steps] == [s * whole[0].time_base for s in source_steps]


def test_a_masked_camera_keeps_its_original_encrypted(tmp_path: Path, walk: scenes.Scene, key: NewKey) -> None:
    root, event = analyze(tmp_path, walk, originals={
        "recipient": key.recipient, "threshold": 2, "custodians": ["principal", "counsel", "director"]})
    details = seal_of(root, str(event["clip_id"]))
    original = details["original"]
    assert isinstance(original, dict) and original["recipient"] == key.recipient and original["complete"]
    assert details["metadata"]["derivation"]["masking_config_hash"]  # type: ignore[index]
    stored = root / str(original["path"])
    assert stored.name.endswith(".mp4.age") and stored.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert sha256_file(stored) == original["ciphertext_sha256"]
    assert not list(root.rglob("*.progress"))
    identity = rebuild_identity(key.shares[1:], recipient=key.recipient)
    plain = pyrage.decrypt(stored.read_bytes(), [pyrage.x25519.Identity.from_str(identity)])
    assert len(plain) == original["size"]
    assert_camera_span(plain, walk.path, event)

    # the masked clip is still masked: outside the zone every pixel is black (the clip holds the
    # rectangle around the zone, placed in the frame as its seal says); the original is not
    with av.open(str(event["clip"])) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(container.streams.video[0])]
    placement = details["metadata"]["placement"]  # type: ignore[index]
    width, height = placement["frame_width"], placement["frame_height"]
    outside = np.ones((height, width), bool)
    xs = [int(x * width) for x, _ in walk.polygons["zone"]]
    ys = [int(y * height) for _, y in walk.polygons["zone"]]
    outside[min(ys) - 2:max(ys) + 2, min(xs) - 2:max(xs) + 2] = False
    crop = outside[placement["y"]:placement["y"] + frames[0].shape[0],
                   placement["x"]:placement["x"] + frames[0].shape[1]]
    if crop.any():
        assert max(int(f[crop].max()) for f in frames) <= 20
    with av.open(io.BytesIO(plain)) as container:
        unmasked = [f.to_ndarray(format="gray") for f in container.decode(container.streams.video[0])]
    assert unmasked[0].shape == (height, width) and max(int(f[outside].max()) for f in unmasked) > 60

    # no plaintext of the original anywhere in the storage folder
    probes = {bytes(p)[i:i + 48] for p in packets(plain) if p.size > 200 for i in (40, p.size // 2)}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(probe in data for probe in probes), f"{path} holds plaintext of the original"
    verified = subprocess.run([sys.executable, "-m", "monitor.cli", "verify", "--config", str(tmp_path / "cameras.yaml")],
                              check=False, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stderr


def test_a_camera_without_masking_keeps_its_original_in_the_clear(tmp_path: Path, walk: scenes.Scene) -> None:
    root, event = analyze(tmp_path, walk, originals={}, privacy=NO_MASK)
    original = seal_of(root, str(event["clip_id"]))["original"]
    assert isinstance(original, dict) and original["recipient"] is None and original["format"] == "plain"
    stored = root / str(original["path"])
    assert sha256_file(stored) == original["sha256"] == original["ciphertext_sha256"]
    assert_camera_span(stored.read_bytes(), walk.path, event)


def test_a_masked_camera_without_an_unmask_key_keeps_no_original(tmp_path: Path, walk: scenes.Scene) -> None:
    root, event = analyze(tmp_path, walk, originals={})
    assert "original" not in seal_of(root, str(event["clip_id"]))
    assert not (root / "originals").exists() or not any(p.is_file() for p in (root / "originals").rglob("*"))
