"""The ``originals`` section: the unmask recipient and its custodians, validated like the rest."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest

from monitor.config import ConfigError, load_config
from monitor.config.models import Camera, Originals, PrivacySettings, PrivacyZone
from monitor.pipeline.camera import original_policy
from tests.conftest import base_config, write_config

RECIPIENT = str(pyrage.x25519.Identity.generate().to_public())


def load(tmp_path: Path, originals: dict[str, object]) -> Originals:
    return load_config(write_config(tmp_path, base_config(tmp_path, originals=originals))).originals


@pytest.mark.parametrize(("section", "expected"), [
    ({"recipient": "age1notakey"}, "expected an age X25519 recipient"),
    ({"recipient": "AGE-SECRET-KEY-1" + "Q" * 58}, "expected an age X25519 recipient"),
    ({"recipient": RECIPIENT, "threshold": 3, "custodians": ["a", "b"]}, "fewer than the threshold 3"),
    ({"recipient": RECIPIENT, "threshold": 1, "custodians": ["a", "b"]}, "greater than or equal to 2"),
    ({"recipient": RECIPIENT, "custodians": ["a", "a"]}, "each name may appear once"),
    ({"recipents": RECIPIENT}, "unknown field"),
])
def test_a_broken_originals_section_is_refused(tmp_path: Path, section: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load(tmp_path, section)


def test_which_cameras_keep_which_original(tmp_path: Path) -> None:
    keyed = load(tmp_path, {"recipient": RECIPIENT, "custodians": ["a", "b"]})
    masked = Camera(id="hall", source="x.mp4")
    unmasked = Camera(id="gate", source="x.mp4", privacy=PrivacySettings(mask="privacy-zones-only"))
    window = Camera(id="pane", source="x.mp4", privacy=PrivacySettings(
        mask="privacy-zones-only", zones=[PrivacyZone(polygon=[(0, 0), (1, 0), (1, 1)])]))
    assert original_policy(keyed, masked) == (True, RECIPIENT)
    assert original_policy(keyed, window) == (True, RECIPIENT)
    assert original_policy(keyed, unmasked) == (True, None)
    assert original_policy(Originals(), masked) == (False, None)  # never in the clear when masked
    assert original_policy(Originals(), unmasked) == (True, None)
    assert original_policy(Originals(encrypt_unmasked=True), unmasked) == (False, None)
    assert original_policy(Originals(keep=False), unmasked) == (False, None)
