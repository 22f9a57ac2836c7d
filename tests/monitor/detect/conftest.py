"""Scenes rendered once per test session; each is a few seconds of real H.264."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import scenes


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenes")


@pytest.fixture(scope="session")
def through(scene_dir: Path) -> scenes.Scene:
    return scenes.walk_through(scene_dir / "through.mp4", noise=3.0)


@pytest.fixture(scope="session")
def outside(scene_dir: Path) -> scenes.Scene:
    return scenes.walk_outside(scene_dir / "outside.mp4", noise=3.0)
