"""Fixtures shared by every test area. Area-specific fixtures live in that area's conftest."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parent.parent
FOOTAGE = Path(os.environ.get("HOTSPOT_FOOTAGE", REPO.parent / "shared" / "footage"))


@pytest.fixture(scope="session")
def footage() -> Path:
    """The shared real footage; tests that need it skip with a clear message when it is absent."""
    if not FOOTAGE.is_dir():
        pytest.skip(f"real footage not found at {FOOTAGE} (set HOTSPOT_FOOTAGE)")
    return FOOTAGE


def write_config(folder: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as cameras.yaml in ``folder`` and return its path."""
    path = folder / "cameras.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump(data, handle)
    return path


def base_config(storage: Path, **overrides: Any) -> dict[str, Any]:
    """A minimal valid configuration whose storage lives in ``storage``."""
    data: dict[str, Any] = {
        "site": {"name": "Test School", "timezone": "America/Chicago", "holidays": []},
        # workers stay root: pytest's temporary folders (0700) are closed to an unprivileged
        # user; tests/monitor/workers/test_privileges.py runs them as one
        "storage": {"path": str(storage), "database": f"sqlite:///{storage}/hotspot.db", "worker_user": None},
        "schedules": {},
        "cameras": [],
    }
    data.update(overrides)
    return data


# What VERIFY.md may use: unzip, sha256sum, openssl and POSIX shell tools, no Python.
TOOLS = ("sh", "bash", "unzip", "sha256sum", "openssl", "grep", "sed", "cut", "awk", "tr", "cat", "head", "tail",
         "find", "sort", "cmp", "comm", "mkdir")


@pytest.fixture(scope="module")
def no_python_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH of one folder with links to the allowed tools and nothing else."""
    folder = tmp_path_factory.mktemp("bin")
    for tool in TOOLS:
        os.symlink(shutil.which(tool), folder / tool)  # type: ignore[arg-type]
    assert not any(shutil.which(name, path=str(folder)) for name in ("python3", "python", "perl"))
    return str(folder)
