"""Names and limits of an export bundle, shared by the writer and the offline verifier."""

from __future__ import annotations

import re

BUNDLE_TYPE = "hotspot-evidence-bundle"
CASE_BUNDLE_TYPE = "hotspot-case-bundle"
REPORT_DIR = "report/"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
CHECKPOINT = "checkpoint.json"
CHECKPOINT_SIG = "checkpoint.sig"
README = "VERIFY.md"
SUMS = "SHA256SUMS"
SUMS_SIG = "SHA256SUMS.sig"
CERTIFICATE = "CERTIFICATE.txt"
VERSION = 2
SIGNATURE_BYTES = 64

MEMBER = re.compile(
    r"^(manifest\.json|manifest\.sig|VERIFY\.md|checkpoint\.json|checkpoint\.sig"
    r"|SHA256SUMS|SHA256SUMS\.sig|CERTIFICATE\.txt"
    r"|clip/[A-Za-z0-9][A-Za-z0-9._-]{0,80}|original/[A-Za-z0-9][A-Za-z0-9._-]{0,80}"
    r"|report/[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.pdf"
    r"|custody/[0-9]{8}\.(json|sig|proof)|rotations/[0-9]{8}\.(json|sig)|keys/[0-9a-f]{64}\.pem"
    r"|timestamps/[0-9a-f]{12}\.(tsr|url))$"
)
MAX_MEMBERS = 50_000
MAX_MANIFEST = 32 << 20
MAX_ENTRY = 1 << 20
MAX_README = 1 << 20
MAX_CLIP = 64 << 30
MAX_REPORT = 256 << 20


def entry_file(seq: int) -> str:
    return f"custody/{seq:08d}.json"


def rotation_file(seq: int) -> str:
    return f"rotations/{seq:08d}.json"


def signature_file(json_name: str) -> str:
    return json_name.removesuffix(".json") + ".sig"


def proof_file(json_name: str) -> str:
    """The entry's Merkle audit path in the bundle's checkpoint: one hex hash a line, leaf side first."""
    return json_name.removesuffix(".json") + ".proof"


def token_file(authority: str) -> str:
    """An RFC 3161 token over ``checkpoint.json`` from the authority with this id."""
    return f"timestamps/{authority}.tsr"


def key_file(kid: str) -> str:
    return f"keys/{kid}.pem"


def limit_for(name: str) -> int:
    """Largest size a member may claim, by kind; the clip is bounded by the archive too."""
    if name.endswith(".sig"):
        return SIGNATURE_BYTES
    if name in (MANIFEST, SUMS):
        return MAX_MANIFEST
    if name in (README, CERTIFICATE):
        return MAX_README
    if name.startswith("keys/") or name.endswith((".proof", ".url")):
        return 8192
    if name.endswith(".tsr"):
        return 64 << 10
    if name.startswith(("clip/", "original/")):
        return MAX_CLIP
    if name.startswith(REPORT_DIR):
        return MAX_REPORT
    return MAX_ENTRY
