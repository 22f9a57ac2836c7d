"""What a bundle verifier prints and the exit status it returns (``hotspot verify`` and
``python -m evidence verify`` give the same answer).

0: everything verifies and the keys descend from a fingerprint the reader trusts.
1: something does not verify, or the keys are not trusted.
2: usage error (no such file, a malformed fingerprint or trust file).
3: everything verifies but no fingerprint was given: UNPINNED, a forgery under any key would
   look the same, so the answer is not a success.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from evidence.trust import normalise_fingerprint, read_trust_file

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNPINNED = 3


class Verified(Protocol):
    """What a clip bundle's and a case bundle's report share for the verdict."""

    @property
    def pinned(self) -> bool: ...

    @property
    def signed_by(self) -> str: ...

    @property
    def anchor(self) -> str | None: ...

    @property
    def proves(self) -> tuple[str, ...]: ...

    @property
    def does_not_prove(self) -> tuple[str, ...]: ...


def anchors(trust: list[str] | None, trust_file: Path | None) -> list[str] | None:
    """The fingerprints the reader trusts, or None when none was given; ValueError is a usage error."""
    if not trust and trust_file is None:
        return None
    found = [normalise_fingerprint(text) for text in trust or []]
    if trust_file is not None:
        found += read_trust_file(trust_file)
    return found


def exit_status(report: Verified) -> int:
    return EXIT_OK if report.pinned else EXIT_UNPINNED


def verdict_lines(report: Verified) -> list[str]:
    """The verdict, then what it proves and what it does not."""
    if report.pinned:
        lines = [f"VERIFIED: signed by key {report.signed_by}, which descends from the trusted key {report.anchor}"]
    else:
        lines = [
            "UNPINNED: the bundle is intact, but nothing here says who signed it.",
            f"Signing key fingerprint: {report.signed_by}",
            ("Compare it with the fingerprint on the site's printed key card, then verify again with "
            "--trust FINGERPRINT (or --trust-file card.txt)."),
        ]
    lines.append("This proves:")
    lines += [f"  - {item}" for item in report.proves]
    lines.append("This does not prove:")
    lines += [f"  - {item}" for item in report.does_not_prove]
    return lines
