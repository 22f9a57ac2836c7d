"""``hotspot cases``, ``hotspot report`` and ``hotspot export-case``: investigations by hand.

Exit status: 0 done, 1 a verification failed, 2 a usage or case error (unknown case, closed case).
"""

from __future__ import annotations

import contextlib
import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from evidence.errors import EvidenceError, VerificationError
from monitor.cases.book import CaseBook, CaseError, CaseFields
from monitor.cases.bundle import write_case_bundle
from monitor.cases.report import make_report
from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, console, load_or_exit
from monitor.service.routers.cases import case_json
from monitor.site.runtime import Runtime

cases_app = typer.Typer(help="Cases: an incident's clips from any camera, its narrative and photographs.",
                        no_args_is_help=True)
CaseArg = Annotated[str, typer.Argument(help="the case's number or id")]
ByOption = Annotated[str | None, typer.Option("--by", help="who does it (logged); default: your login name")]


@contextlib.contextmanager
def _book(config: Path) -> Iterator[CaseBook]:
    runtime = Runtime.open(load_or_exit(config))
    try:
        with runtime.sessions() as session:
            yield CaseBook(runtime, session)
    except CaseError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        runtime.close()


def _who(by: str | None) -> str:
    return by or getpass.getuser()


@cases_app.command("create")
def create(
    number: Annotated[str, typer.Option("--number", help="the district's case number")],
    title: Annotated[str, typer.Option("--title", help="a short title")],
    narrative: Annotated[str, typer.Option("--narrative", help="what happened, action taken, people involved")] = "",
    by: ByOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Open a case and print its id."""
    with _book(config) as book:
        case = book.create(CaseFields(number=number, title=title, narrative=narrative), by=_who(by))
        print(case.id)


@cases_app.command("add")
def add(
    case_ref: CaseArg,
    clip_id: Annotated[str, typer.Argument(help="a sealed clip's id")],
    note: Annotated[str, typer.Option("--note", help="what this clip shows")] = "",
    by: ByOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Add a clip to an open case; it stays on legal hold while the case is open."""
    with _book(config) as book:
        case = book.get(case_ref)
        book.add_clip(case, clip_id, note=note, by=_who(by))
        console.print(f"added clip {clip_id} to case {case.number}", highlight=False)


@cases_app.command("show")
def show(
    case_ref: CaseArg,
    as_json: Annotated[bool, typer.Option("--json", help="print the case as JSON")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Print a case: details, narrative, clips with notes, photographs."""
    with _book(config) as book:
        data = case_json(book, book.get(case_ref))
    if as_json:
        print(json.dumps(data, indent=2))
        return
    print(f"case {data['number']} ({data['status']}): {data['title']}\nid {data['id']}, opened "
          f"{data['created_at']} by {data['created_by']}\nwindow {data['window_start']} to {data['window_end']}")
    if data["narrative"]:
        print(f"\n{data['narrative']}\n")
    for clip in data["clips"]:
        print(f"clip {clip['id']}  {clip['camera_id']}  {clip['start']}  sha256 {clip['sha256']}"
              + ("  hold" if clip["legal_hold"] else "") + (f"\n  note: {clip['note']}" if clip["note"] else ""))
    for photo in data["photos"]:
        print(f"photo {photo['id']}: clip {photo['clip_id']} at {photo['offset_seconds']} s  {photo['caption']}")


@cases_app.command("close")
def close(case_ref: CaseArg, by: ByOption = None, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Close a case; the legal holds it placed are released (unless another open case has the clip)."""
    with _book(config) as book:
        case = book.close(book.get(case_ref), by=_who(by))
        console.print(f"closed case {case.number}", highlight=False)


def report(
    case_ref: CaseArg,
    out: Annotated[Path, typer.Option("--out", help="PDF file to write; never overwritten")],
    by: ByOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Make the incident report (PDF); its SHA-256 is logged as a custody entry."""
    with _book(config) as book:
        try:
            made = make_report(book, book.get(case_ref), out, by=_who(by))
        except FileExistsError as exc:
            console.print(f"[red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
    console.print(f"wrote {made.path} ({made.pages} pages), sha256 {made.sha256} (custody entry #{made.entry.seq})",
                  highlight=False)


def export_case(
    case_ref: CaseArg,
    out: Annotated[Path, typer.Option("--out", help="bundle file to write (.zip); never overwritten")],
    reason: Annotated[str, typer.Option("--reason", help="why the case is disclosed (logged)")],
    recipient: Annotated[str, typer.Option("--recipient", help="who receives it (logged)")],
    interest: Annotated[str, typer.Option("--interest", help="the recipient's legitimate interest (logged)")],
    by: Annotated[str, typer.Option("--by", help="who exports it (logged)")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Export every clip of a case, a fresh report and their custody as one bundle anyone can verify."""
    with _book(config) as book:
        case = book.get(case_ref)
        try:
            path = write_case_bundle(book, case, out, by=by, reason=reason, recipient=recipient, interest=interest)
        except VerificationError as exc:
            console.print(f"[bold red]FAILED[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except EvidenceError as exc:
            console.print(f"[red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
    console.print(f"wrote {path} (case {case.number}); verify with `hotspot verify {path}`", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
    app.command()(report)
    app.command("export-case")(export_case)
