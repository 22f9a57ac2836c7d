"""A bundle names its recipient and their interest, the software that made it, and carries a
draft FRE 902(14) certificate whose every hash is one the verifier checks."""

from __future__ import annotations

import json
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from evidence.bundle import verify_bundle
from evidence.errors import IntegrityError
from evidence.export import export_bundle
from tests.evidence import bundles
from tests.evidence.conftest import Site, disclose


@pytest.fixture
def bundle(site: Site, tmp_path: Path) -> Path:
    return export_bundle(site.ev, "clip0", tmp_path / "b.zip", disclosure=disclose(
        recipient="Officer Diaz, city police", interest="investigating the March 2 incident"))


def test_the_bundle_names_recipient_interest_and_software(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["export"]["recipient"] == "Officer Diaz, city police"
    assert manifest["export"]["interest"] == "investigating the March 2 incident"
    assert manifest["software"] == {"name": "hotspot-monitor", "version": metadata.version("hotspot-monitor")}
    report = verify_bundle(bundle)
    assert report.recipient == "Officer Diaz, city police"
    assert report.software == f"hotspot-monitor {metadata.version('hotspot-monitor')}"


def test_the_certificate_states_the_checked_hashes_and_leaves_the_signature_blank(site: Site, bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        text = archive.read("CERTIFICATE.txt").decode()
        sums = archive.read("SHA256SUMS").decode()
    seal = site.ev.sealed("clip0")
    entries = site.ev.entries("clip0")
    assert "902(14)" in text and "DRAFT" in text and "Signature: ____" in text
    assert seal.object_sha256 in text and f"custody entry #{seal.seq}" in text
    assert all(f"#{e.seq}" in text for e in entries) and "Officer Diaz, city police" in text
    assert seal.key_id in text and site.ev.keys.key_id in text and seal.key_id != site.ev.keys.key_id and f"version {metadata.version('hotspot-monitor')}" in text
    assert "  CERTIFICATE.txt\n" in sums


def test_an_edited_certificate_is_caught(bundle: Path, tmp_path: Path) -> None:
    def change(items: bundles.Members) -> None:
        items["CERTIFICATE.txt"] = items["CERTIFICATE.txt"].replace(b"Officer Diaz", b"Officer Dias")

    with pytest.raises(IntegrityError, match="CERTIFICATE.txt"):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "t.zip", change))
