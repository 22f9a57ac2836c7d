"""The bundle verifier runs with only ``evidence`` and its two dependencies importable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.export import export_bundle
from tests.conftest import REPO
from tests.evidence import bundles
from tests.evidence.conftest import Site, disclose

BLOCKED = ("monitor", "cv2", "av", "fastapi", "sqlalchemy", "numpy", "typer", "rich")
RUNNER = f"""
import runpy, sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} must not be needed to verify a bundle")
        return None

sys.meta_path.insert(0, Blocker())
sys.argv = ["python -m evidence", *sys.argv[1:]]
runpy.run_module("evidence", run_name="__main__")
"""


@pytest.fixture
def bundle(site: Site, tmp_path: Path) -> Path:
    return export_bundle(site.ev, "clip2", tmp_path / "b.zip", disclosure=disclose(case="C-7", reason="police request", by="admin"))


def offline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m evidence`` from a folder holding nothing but a copy of the package."""
    alone = tmp_path / "only-evidence"
    if not alone.exists():
        shutil.copytree(REPO / "evidence", alone / "evidence", ignore=shutil.ignore_patterns("__pycache__"))
    return subprocess.run([sys.executable, "-c", RUNNER, *args], check=False, cwd=alone, capture_output=True, text=True,
                          env={"PYTHONPATH": str(alone), "PATH": "/usr/bin:/bin"}, timeout=60)


def test_python_m_evidence_verifies_a_bundle_without_the_application(site: Site, bundle: Path,
                                                                     tmp_path: Path) -> None:
    result = offline(tmp_path, "verify", str(bundle))
    assert result.returncode == 3, result.stderr  # intact, but no fingerprint was given
    assert result.stdout.startswith("bundle: clip clip2") and "UNPINNED" in result.stdout
    first = site.ev.entries()[0].key_id
    result = offline(tmp_path, "verify", "--trust", first, str(bundle))
    assert result.returncode == 0 and "VERIFIED" in result.stdout, result.stderr
    report = json.loads(offline(tmp_path, "verify", "--json", "--trust", first, str(bundle)).stdout)
    assert report["ok"] and report["case"] == "C-7" and report["actions"][-1] == "exported"
    assert report["trust"] == "pinned" and report["anchor"] == first and report["proves"]


def test_python_m_evidence_fails_a_tampered_bundle_with_status_1(bundle: Path, tmp_path: Path) -> None:
    def change(items: bundles.Members) -> None:
        items["clip/clip2.mp4"] = bundles.flip_byte(items["clip/clip2.mp4"], 500)

    tampered = bundles.rewrite(bundle, tmp_path / "t.zip", change)
    result = offline(tmp_path, "verify", "--json", str(tampered))
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "IntegrityError"


def test_pinning_a_key_that_did_not_sign_fails(bundle: Path, tmp_path: Path) -> None:
    result = offline(tmp_path, "verify", "--trust", "ab" * 32, str(bundle))
    assert result.returncode == 1 and "no trusted fingerprint is that key" in result.stderr
    assert offline(tmp_path, "verify", "--trust", "not-hex", str(bundle)).returncode == 2


def test_the_blocker_really_blocks(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", RUNNER.replace('runpy.run_module("evidence", run_name="__main__")',
                                                                  "import sqlalchemy")],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "must not be needed" in result.stderr
