"""The incident report: one PDF an officer can file and testify from.

fpdf2 draws it: a pure-Python, actively kept library (no C build, no browser engine), that embeds
a subset of a TrueType font (DejaVu, so any language's names and narrative print), lays out
tables with a repeated header row, and places JPEGs as they are. WeasyPrint would need Pango and
a CSS engine for what is a few tables; ReportLab's core fonts are Latin-1 only.

Photographs come from the masked clip files (``monitor.cases.photos``), so nothing unmasked can
reach the page. The report's SHA-256 is logged as a ``report_made`` custody entry.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import or_, select

from evidence.actions import Action
from evidence.entry import CustodyRecord
from evidence.hashing import sha256_bytes
from monitor.cases.book import CaseBook
from monitor.service.clip_check import ClipCheck, check_clip
from monitor.store.cases import Case
from monitor.store.models import Alert

FONTS = Path("/usr/share/fonts/truetype/dejavu")
CUSTODY_ROWS = 120
PHOTO_WIDTH_MM = 120


@dataclass(frozen=True)
class MadeReport:
    path: Path
    sha256: str
    pages: int
    entry: CustodyRecord


def make_report(book: CaseBook, case: Case, out: Path, *, by: str) -> MadeReport:
    """Verify every clip now, draw the PDF, write it to ``out`` and log its SHA-256."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose another file name")
    clips = book.clips(case)
    checks = {clip.id: check_clip(book.runtime, clip) for _link, clip in clips}
    pdf = _Report(book, case, checks, by=by)
    data = bytes(pdf.output())
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(data)
    partial.replace(out)
    digest = sha256_bytes(data)
    book.log(Action.REPORT_MADE, case, by, object_sha256=digest, file=out.name, pages=pdf.pages_count,
             clips={clip_id: check.status for clip_id, check in checks.items()})
    entry = book.runtime.evidence.head()
    assert entry is not None and entry.object_sha256 == digest
    return MadeReport(out, digest, pdf.pages_count, entry)


class _Report(FPDF):
    def __init__(self, book: CaseBook, case: Case, checks: dict[str, ClipCheck], *, by: str) -> None:
        super().__init__(format="A4")
        self.book, self.case, self.checks, self.by = book, case, checks, by
        self.tz: tzinfo = book.runtime.config.site.tz
        self.made_at = datetime.now(UTC)
        self._fonts()
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, 18)
        self.set_title(f"Incident report, case {case.number}")
        self.set_author(by)
        self.set_creator("Hotspot Monitor")
        self.add_page()
        self._heading()
        self._details()
        self._narrative()
        self._timeline()
        self._photographs()
        self._evidence()
        self._custody()
        self._signatures()

    def _fonts(self) -> None:
        if (FONTS / "DejaVuSans.ttf").is_file():
            self.add_font("Body", "", str(FONTS / "DejaVuSans.ttf"))
            self.add_font("Body", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
            self.add_font("Mono", "", str(FONTS / "DejaVuSansMono.ttf"))
            self.body, self.mono = "Body", "Mono"
        else:  # core fonts: Latin-1 only, so other characters print as '?'
            self.body, self.mono = "Helvetica", "Courier"

    def normalize_text(self, text: str) -> str:
        if self.body == "Helvetica":
            text = text.encode("latin-1", "replace").decode("latin-1")
        return super().normalize_text(text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body, "", 7)
        self.cell(0, 5, f"Case {self.case.number} - incident report made {self.local(self.made_at)} by {self.by}"
                        f" - page {self.page_no()} of {{nb}}", align="C")

    def local(self, moment: datetime | None, *, seconds: bool = True) -> str:
        if moment is None:
            return "-"
        value = moment.astimezone(self.tz)
        return value.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")

    def section(self, title: str) -> None:
        if self.will_page_break(30):  # never a heading alone at the foot of a page
            self.add_page()
        self.ln(3)
        self.set_font(self.body, "B", 12)
        self.cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.body, "", 9)

    def line_text(self, text: str, *, size: float = 9, mono: bool = False, bold: bool = False) -> None:
        self.set_font(self.mono if mono else self.body, "B" if bold and not mono else "", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _heading(self) -> None:
        self.set_font(self.body, "B", 16)
        self.multi_cell(0, 8, f"Incident report: {self.case.title}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.body, "", 10)
        self.cell(0, 6, f"{self.book.runtime.config.site.name} - case {self.case.number}",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _details(self) -> None:
        self.section("Case details")
        start, end = self.book.window(self.case)
        cameras = sorted({clip.camera_id for _link, clip in self.book.clips(self.case)})
        rows = [
            ("Case number", self.case.number), ("Title", self.case.title), ("Status", self.case.status),
            ("Opened", f"{self.local(self.case.created_at)} by {self.case.created_by}"),
            ("Incident window", f"{self.local(start)} to {self.local(end)}"),
            ("Cameras", ", ".join(cameras) or "-"), ("Clips", str(len(self.checks))),
            ("Times", f"in the site's time zone, {self.book.runtime.config.site.timezone}"),
        ]
        if self.case.closed_at:
            rows.append(("Closed", f"{self.local(self.case.closed_at)} by {self.case.closed_by}"))
        with self.table(col_widths=(40, 140), first_row_as_headings=False, line_height=5) as table:
            for label, value in rows:
                table.row((label, value))

    def _narrative(self) -> None:
        self.section("Narrative")
        self.line_text(self.case.narrative.strip() or "(no narrative written)", size=10)

    def _timeline(self) -> None:
        self.section("Timeline")
        rows = timeline_rows(self.book, self.case)
        with self.table(col_widths=(43, 30, 22, 85), line_height=4.5, text_align="LEFT") as table:
            table.row(("Time", "Camera", "Zone", "What was seen"))
            for moment, camera, zones, what in rows:
                table.row((self.local(moment), camera, zones, what))

    def _photographs(self) -> None:
        photos = self.book.photos(self.case)
        self.section(f"Photographs ({len(photos)})")
        if not photos:
            self.line_text("No photographs were chosen.")
        clips = {clip.id: clip for _link, clip in self.book.clips(self.case)}
        for number, photo in enumerate(photos, 1):
            data = self.book.runtime.paths.absolute(photo.path).read_bytes()
            if sha256_bytes(data) != photo.sha256:
                self.line_text(f"Photograph {number}: its file no longer matches the SHA-256 recorded when it "
                               f"was taken ({photo.sha256}); not shown.", bold=True)
                continue
            clip = clips.get(photo.clip_id)
            camera = clip.camera_id if clip else "?"
            width = PHOTO_WIDTH_MM
            height = width * 9 / 16 + 22
            if self.will_page_break(height):
                self.add_page()
            self.image(io.BytesIO(data), w=width)
            self.line_text(f"Photograph {number}: camera {camera}, {self.local(photo.frame_time)}, "
                           f"clip {photo.clip_id} at {photo.offset_seconds:.2f} s", bold=True)
            if photo.caption:
                self.line_text(photo.caption)
            self.ln(2)

    def _evidence(self) -> None:
        self.section("Clips: SHA-256, seal and verification at the time of this report")
        for _link, clip in self.book.clips(self.case):
            check = self.checks[clip.id]
            seal = self.book.runtime.evidence.find_seal(clip.id)
            self.line_text(f"Clip {clip.id} - camera {clip.camera_id} - {self.local(clip.start)} to "
                           f"{self.local(clip.end)}", bold=True)
            self.line_text(f"SHA-256 {clip.sha256}", mono=True, size=8)
            sealed = f"{self.local(seal.time)} (custody entry #{seal.seq})" if seal else "not sealed"
            self.line_text(f"Sealed: {sealed}")
            verdict = "VERIFIED: intact" if check.ok else f"FAILED: {check.status}"
            self.line_text(f"Verification {self.local(self.made_at)}: {verdict}; {check.entries} custody entries, "
                           "each hash, signature and link checked; file re-hashed", bold=not check.ok)
            for problem in check.problems:
                self.line_text(f"  - {problem}")
            self.ln(1.5)
        self.section("Signing key")
        self.line_text("Custody entries are signed with the site's Ed25519 key with the fingerprint "
                       "(SHA-256 of the public key; compare with `hotspot keys show`):")
        self.line_text(self.book.runtime.evidence.keys.key_id, mono=True, size=8)

    def _custody(self) -> None:
        entries = custody_excerpt(self.book, self.case)
        shown = entries[-CUSTODY_ROWS:]
        self.section(f"Custody log excerpt ({len(shown)} of {len(entries)} entries of this case and its clips)")
        with self.table(col_widths=(12, 43, 25, 32, 68), line_height=4, text_align="LEFT") as table:
            table.row(("#", "Time", "Who", "Action", "Clip / details"))
            for entry in shown:
                table.row((str(entry.seq), self.local(entry.time), entry.actor, entry.action.value,
                           _entry_summary(entry)))

    def _signatures(self) -> None:
        if self.will_page_break(70):
            self.add_page()
        self.section("Signatures")
        for role in ("Reporting officer", "Custodian of records"):
            self.set_font(self.body, "B", 10)
            self.cell(0, 7, role, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_font(self.body, "", 9)
            for label in ("Name", "Signature", "Date"):
                self.cell(30, 9, label)
                self.cell(100, 9, "", border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(4)


def timeline_rows(book: CaseBook, case: Case) -> list[tuple[datetime, str, str, str]]:
    """The case's clips and their alerts, in time order: (time, camera, zones, what was seen)."""
    clips = book.clips(case)
    rows: list[tuple[datetime, str, str, str]] = []
    for link, clip in clips:
        length = f"{(clip.end - clip.start).total_seconds():.0f} s" if clip.end else "recording"
        note = f": {link.note}" if link.note else ""
        rows.append((clip.start, clip.camera_id, ", ".join(clip.zones or []) or "-",
                     f"clip {clip.id} ({length}){note}"))
    ids = [clip.id for _link, clip in clips]
    events = [clip.event_id for _link, clip in clips]
    if ids:
        alerts = book.session.scalars(select(Alert).where(or_(Alert.clip_id.in_(ids), Alert.event_id.in_(events))))
        for alert in alerts:
            rows.append((alert.time, alert.camera_id, ", ".join(alert.zones or []) or "-",
                         f"alert {alert.id} ({alert.kind}): {alert.message}"))
    return sorted(rows, key=lambda row: row[0])


def custody_excerpt(book: CaseBook, case: Case) -> list[CustodyRecord]:
    """Every entry of the case's clips and of the case itself, in log order."""
    ids = {clip.id for _link, clip in book.clips(case)}
    chosen: dict[int, CustodyRecord] = {}
    for clip_id in ids:
        chosen.update((e.seq, e) for e in book.runtime.evidence.entries(clip_id))
    chosen.update((e.seq, e) for e in book.runtime.evidence.entries()
                  if e.clip_id is None and e.details.get("case_id") == case.id)
    return [chosen[seq] for seq in sorted(chosen)]


def _entry_summary(entry: CustodyRecord) -> str:
    details: dict[str, Any] = entry.details
    parts = [entry.clip_id[:12] + "..." if entry.clip_id else ""]
    for key in ("note", "reason", "recipient", "status", "file", "caption"):
        if details.get(key):
            parts.append(f"{key}: {str(details[key])[:80]}")
    return "; ".join(p for p in parts if p) or "-"
