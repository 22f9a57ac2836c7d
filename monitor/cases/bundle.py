"""The case bundle: a fresh incident report, then every clip, the report and their custody in one zip."""

from __future__ import annotations

from pathlib import Path

from evidence.case_export import CaseRef, export_case_bundle
from evidence.errors import EvidenceError
from evidence.export import Disclosure
from monitor.cases.book import CaseBook
from monitor.cases.report import make_report
from monitor.objects.bucket import version_reader
from monitor.store.cases import Case


def write_case_bundle(book: CaseBook, case: Case, out: Path, *, by: str, reason: str, recipient: str,
                      interest: str) -> Path:
    """A fresh report, then the bundle holding it (the CLI and the dashboard both come here)."""
    disclosure = Disclosure(case=case.number, reason=reason, by=by, recipient=recipient,
                            interest=interest).checked(f"case {case.number}")
    clips = [clip.id for _link, clip in book.clips(case)]
    if not clips:
        raise EvidenceError(f"case {case.number} has no clips to export")
    made = make_report(book, case, out.with_name(f".{out.stem}-report.pdf"), by=by)
    try:
        return export_case_bundle(book.runtime.evidence, out, case=CaseRef(case.id, case.number, case.title),
                                  clip_ids=clips, report=made.path, report_entry=made.entry,
                                  disclosure=disclosure, objects=version_reader(book.runtime.config.storage.objects))
    finally:
        made.path.unlink(missing_ok=True)
