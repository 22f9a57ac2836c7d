"""The printable key card: the site's fingerprints on paper, signed by two people, handed to
whoever will verify bundles (district, counsel, police). Verifiers take the fingerprint from
the card, never from a bundle, which is what makes a forged bundle fail.

The text form is also a trust file: every line but the fingerprints is a ``#`` comment, so
``hotspot verify BUNDLE --trust-file card.txt`` works on it as printed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

SIGNERS = 2


def grouped(fingerprint: str) -> str:
    """64 hex digits in 16 groups of 4, easier to read aloud and compare."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


def card_lines(*, site: str, keys: list[str], current: str, printed: datetime | None = None) -> list[str]:
    """The card as lines; fingerprint lines are bare, everything else is a comment."""
    when = (printed or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# HOTSPOT MONITOR - EVIDENCE SIGNING KEY CARD",
        f"# Site: {site}",
        f"# Printed: {when}",
        "#",
        "# Evidence bundles from this site are signed with the key below, or with a key it later",
        "# introduced by a signed rotation. To check a bundle, take the fingerprint from THIS card,",
        "# never from the bundle:",
        "#   hotspot verify BUNDLE.zip --trust-file THIS-CARD.txt",
        "#   python -m evidence verify BUNDLE.zip --trust FINGERPRINT",
        "#   VERIFY.md in the bundle: CARD_FINGERPRINT='FINGERPRINT'",
        "# A bundle that does not verify against this card was not signed by this site.",
        "#",
        "# Current signing key (SHA-256 of its DER public key):",
        f"#   {grouped(current)}",
        current,
    ]
    earlier = [kid for kid in keys if kid != current]
    if earlier:
        lines += ["#", "# Earlier keys of this site, retired by signed rotations (for older bundles):"]
        for kid in earlier:
            lines += [f"#   {grouped(kid)}", kid]
    lines += ["#", f"# Attested by ({SIGNERS} people):"]
    for _ in range(SIGNERS):
        lines += ["#", "# Name: ____________________  Title: ____________________",
                  "# Signature: ____________________  Date: __________"]
    return lines


def write_card(out: Path, lines: list[str]) -> None:
    """Write the card as ``.txt`` (a trust file) or ``.pdf`` (to print)."""
    if out.suffix.lower() == ".pdf":
        _write_pdf(out, lines)
    else:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_pdf(out: Path, lines: list[str]) -> None:
    pdf = FPDF(format="A4")
    pdf.set_title("Evidence signing key card")
    pdf.add_page()
    pdf.set_margins(18, 18)
    for line in lines:
        text = line[1:].strip() if line.startswith("#") else line
        if line.startswith("# HOTSPOT"):
            pdf.set_font("Helvetica", "B", 14)
        elif not line.startswith("#") or line.startswith("#   ") and "_" not in line and "verify" not in line:
            pdf.set_font("Courier", "B" if not line.startswith("#") else "", 10)
        else:
            pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, text or " ", new_x="LMARGIN", new_y="NEXT")
        if "Signature:" in line:
            pdf.ln(4)
    pdf.output(str(out))
