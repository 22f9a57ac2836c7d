"""``hotspot verify``, ``hotspot export`` and ``hotspot keys``: the evidence chain by hand.

Exit status: 0 when everything verifies (for a bundle: and its keys descend from a fingerprint
given with --trust or --trust-file), 1 when something fails or the key is not trusted, 2 on usage
errors, 3 when a bundle verifies but no fingerprint was given (UNPINNED).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from evidence.bundle import BundleReport, verify_bundle
from evidence.bundle_format import CASE_BUNDLE_TYPE
from evidence.case_bundle import CaseBundleReport, bundle_kind, verify_case_bundle
from evidence.errors import ClipNotFound, EvidenceError, KeyringError, VerificationError
from evidence.export import Disclosure, export_bundle
from evidence.keys import PASSPHRASE_ENV
from evidence.outcome import EXIT_FAILED, EXIT_USAGE, anchors, exit_status, verdict_lines
from evidence.report import STORE_DOES_NOT_PROVE, STORE_PROVES, StoreReport
from evidence.store import EvidenceStore
from evidence.timestamps import load_roots
from evidence.verify import verify_store
from evidence.verify_clips import ObjectReader
from evidence.witness import Witness
from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, console, interactive, load_or_exit
from monitor.cli.key_card import card_lines, write_card
from monitor.config import Config
from monitor.objects.bucket import version_reader
from monitor.site.evidence_options import store_options, timestamp_roots
from monitor.store.db import make_engine
from monitor.store.paths import StoragePaths

keys_app = typer.Typer(help="Show, rotate and publish the site signing key.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="print the result as JSON for machines")]


class RichProgress:
    """Verification progress as a Rich bar (bytes while hashing clips)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def stage(self, name: str, total: int) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(name, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


def _object_reader(cfg: Config) -> ObjectReader | None:
    """Clips whose local copy went after upload are read from the store, streamed."""
    if cfg.storage.objects is None:
        return None
    from monitor.objects.bucket import Bucket, ObjectStoreError

    try:
        return Bucket(cfg.storage.objects).read_version
    except ObjectStoreError as exc:
        console.print(f"[yellow]object store not used: {exc}[/yellow]")
        return None


def _bucket_witnesses(cfg: Config) -> tuple[Witness, ...]:
    from monitor.objects.bucket import ObjectStoreError
    from monitor.objects.witness import bucket_witnesses

    try:
        return bucket_witnesses(cfg)
    except ObjectStoreError as exc:
        console.print(f"[yellow]checkpoint witness in the object store not used: {exc}[/yellow]")
        return ()


def _witness(cfg: Config) -> Path | None:
    return Path(cfg.storage.witness_path) if cfg.storage.witness_path else None


def _open_store(cfg: Config) -> EvidenceStore:
    """The store with its signing key; a key problem is a failure (1), never silently replaced."""
    paths = StoragePaths(Path(cfg.storage.path).resolve())
    paths.ensure()
    try:
        return EvidenceStore.open(paths.root, make_engine(cfg.storage.database), **store_options(cfg))
    except KeyringError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


def verify(
    bundle: Annotated[Path | None, typer.Argument(help="an export bundle (.zip); omit to verify the whole store")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
    trust: Annotated[list[str] | None, typer.Option(
        "--trust", help="bundle: fingerprint of a site key you trust, from the site's printed card (repeatable)")] = None,
    trust_file: Annotated[Path | None, typer.Option(
        "--trust-file", help="bundle: file of trusted fingerprints, one a line (the card's .txt is one)")] = None,
    tsa_ca: Annotated[Path | None, typer.Option(
        "--tsa-ca", help="bundle: root certificates (PEM) of the timestamp authorities you trust")] = None,
) -> None:
    """Verify an export bundle offline, or the whole store: custody log, checkpoints and clips."""
    if bundle is not None:
        _verify_bundle(bundle, as_json, trust, trust_file, tsa_ca)
        return
    cfg = load_or_exit(config)
    root = Path(cfg.storage.path).resolve()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                        console=console, disable=not interactive() or as_json, transient=True)
    with progress:
        report = verify_store(root, make_engine(cfg.storage.database), witness=_witness(cfg),
                              progress=RichProgress(progress), timestamp_roots=timestamp_roots(cfg),
                              objects=_object_reader(cfg), witnesses=_bucket_witnesses(cfg))
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print_store_report(report)
    raise typer.Exit(0 if report.ok else 1)


RECOVERED_NOTE = ("RECOVERED: left open by a crash and sealed as found by the recovery pass; it may "
                  "end early and was not closed by its camera")


def _verify_bundle(bundle: Path, as_json: bool, trust: list[str] | None, trust_file: Path | None,
                   tsa_ca: Path | None = None) -> None:
    try:
        trusted = anchors(trust, trust_file)
        roots = load_roots(tsa_ca) if tsa_ca else None
    except (ValueError, EvidenceError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if not bundle.is_file():
        console.print(f"[red]error:[/] {bundle}: no such file")
        raise typer.Exit(EXIT_USAGE)
    is_case = bundle_kind(bundle) == CASE_BUNDLE_TYPE
    try:
        if is_case:
            case_report = verify_case_bundle(bundle, trusted_keys=trusted, timestamp_roots=roots)
        else:
            report = verify_bundle(bundle, trusted_keys=trusted, timestamp_roots=roots)
    except VerificationError as exc:
        if as_json:
            print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}))
        else:
            console.print(f"[bold red]FAILED[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    if is_case:
        _print_verdict(case_report, case_report.summary(), as_json)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        raise typer.Exit(exit_status(report))
    title = f"{bundle.name}: " + ("verified, signed by a trusted key" if report.pinned else "intact but UNPINNED")
    table = Table(title=title, show_header=False)
    sealed = report.sealed_at + (f"  ({RECOVERED_NOTE})" if report.sealed_as == "recovered" else "")
    for label, value in (("clip", report.clip_id), ("sha256", report.sha256), ("sealed", sealed),
                         ("case", report.case), ("reason", report.reason), ("exported by", report.exported_by),
                         ("recipient", report.recipient), ("interest", report.interest),
                         ("exported", report.exported_at), ("custody", ", ".join(report.actions)),
                         *(("timestamped", stamp) for stamp in report.timestamps),
                         ("software", report.software), ("signed by", report.signed_by)):
        table.add_row(label, value)
    if report.original_sha256:
        table.add_row("original sha256", report.original_sha256 + "  (the native original, as sealed)")
    console.print(table)
    _print_verdict(report, None, False)


def _print_verdict(report: BundleReport | CaseBundleReport, summary: str | None, as_json: bool) -> NoReturn:
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        raise typer.Exit(exit_status(report))
    if summary:
        console.print(summary, highlight=False, soft_wrap=True)
    colour = "green" if report.pinned else "yellow"
    lines = verdict_lines(report)
    console.print(f"[bold {colour}]{lines[0]}[/]", highlight=False, soft_wrap=True)
    console.print("\n".join(lines[1:]), highlight=False, soft_wrap=True)
    raise typer.Exit(exit_status(report))


def _print_store_report(report: StoreReport) -> None:
    summary = (f"{report.entries} custody entries, {report.checkpoints} checkpoints, {report.clips} sealed "
               f"clips, {report.bytes_hashed / 1e6:.1f} MB re-hashed")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if report.recovered:
        console.print(f"[yellow]recovered:[/] {len(report.recovered)} clip(s) {RECOVERED_NOTE}: "
                      f"{', '.join(report.recovered)}", highlight=False)
    if report.ok:
        console.print(f"[bold green]OK[/] {summary}", highlight=False)
        console.print("\n".join(["This proves:", *(f"  - {p}" for p in STORE_PROVES), "This does not prove:",
                                  *(f"  - {p}" for p in STORE_DOES_NOT_PROVE)]), highlight=False, soft_wrap=True)
        return
    table = Table("kind", "clip", "entry", "what failed", title=f"{len(report.failures)} failure(s)")
    for failure in report.failures:
        table.add_row(failure.kind, failure.clip_id or "", str(failure.seq or ""), failure.message)
    console.print(table)
    console.print(f"[bold red]FAILED[/] {summary}", highlight=False)


def export(
    clip_id: Annotated[str, typer.Argument(help="the clip id printed by `hotspot analyze` or shown on the dashboard")],
    out: Annotated[Path, typer.Option("--out", help="bundle file to write (.zip); never overwritten")],
    case: Annotated[str, typer.Option("--case", help="case or incident reference")],
    reason: Annotated[str, typer.Option("--reason", help="why the clip is disclosed (logged)")],
    by: Annotated[str, typer.Option("--by", help="who exports it (logged)")],
    recipient: Annotated[str, typer.Option("--recipient", help="the party receiving the clip (logged)")],
    interest: Annotated[str, typer.Option("--interest", help="the recipient's legitimate interest (logged)")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Export a sealed clip as a signed bundle anyone can verify; the export is a logged disclosure."""
    cfg = load_or_exit(config)
    ev = _open_store(cfg)
    disclosure = Disclosure(case=case, reason=reason, by=by, recipient=recipient, interest=interest)
    try:
        path = export_bundle(ev, clip_id, out, disclosure=disclosure, objects=version_reader(cfg.storage.objects))
    except VerificationError as exc:
        console.print(f"[bold red]FAILED[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except (ClipNotFound, EvidenceError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"wrote {path} (clip {clip_id}, case {case}); verify with `hotspot verify {path}`",
                  highlight=False)


def _chain(ev: EvidenceStore) -> list[str]:
    """The site's keys oldest first, as the log links them (the keyring's when the log is empty)."""
    chain = ev.key_chain()
    return list(chain.keys) if chain is not None else [ev.keys.key_id]


@keys_app.command("show")
def keys_show(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Print the full fingerprint of every site key, oldest first, and which one signs now."""
    ev = _open_store(load_or_exit(config))
    for kid in _chain(ev):
        marker = "current" if kid == ev.keys.key_id else "retired"
        print(f"{kid}  {marker}")


@keys_app.command("card")
def keys_card(
    out: Annotated[Path, typer.Option("--out", help="card.pdf to print, or card.txt (also a --trust-file)")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Write a printable fingerprint card with signature lines, for whoever will verify bundles."""
    if out.suffix.lower() not in (".pdf", ".txt"):
        console.print(f"[red]error:[/] {out}: the card is written as .pdf or .txt")
        raise typer.Exit(EXIT_USAGE)
    cfg = load_or_exit(config)
    ev = _open_store(cfg)
    write_card(out, card_lines(site=cfg.site.name, keys=_chain(ev), current=ev.keys.key_id))
    console.print(f"wrote {out}: print it, have two people sign it, and give it to whoever verifies bundles",
                  highlight=False)


@keys_app.command("rotate")
def keys_rotate(
    by: Annotated[str, typer.Option("--by", help="who rotates the key (logged)")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Replace the signing key; the old key signs the entry naming the new one and stays in the keyring."""
    ev = _open_store(load_or_exit(config))
    record = ev.rotate_key(actor=by)
    print(f"rotated: {record.details['old_key_id']} -> {record.details['new_key_id']} (entry #{record.seq})")


@keys_app.command("protect")
def keys_protect(
    passphrase_file: Annotated[Path | None, typer.Option(
        "--passphrase-file", help="read the new passphrase from this file's first line instead of asking")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Encrypt the private key at rest with a passphrase (or change it). The service then needs
    it at start: from a terminal, or from the file named by $HOTSPOT_KEY_PASSPHRASE_FILE."""
    if passphrase_file is not None:
        lines = passphrase_file.read_bytes().splitlines() if passphrase_file.is_file() else []
        new = lines[0] if lines else b""
    else:
        new = typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True).encode("utf-8")
    if len(new) < 12:
        console.print("[red]error:[/] the passphrase must be at least 12 characters")
        raise typer.Exit(EXIT_USAGE)
    ev = _open_store(load_or_exit(config))
    ev.keys.protect(new)
    console.print(f"the signing key {ev.keys.key_id} is now encrypted; keep the passphrase apart from the key's "
                  f"backup, and give the service {PASSPHRASE_ENV} or a terminal to start", highlight=False)


@keys_app.command("export-public")
def keys_export_public(
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of standard output")] = None,
    all_keys: Annotated[bool, typer.Option("--all", help="every key in the keyring, not only the current")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Print the public key(s) in PEM, to publish or hand to whoever verifies bundles."""
    ev = _open_store(load_or_exit(config))
    kids = ev.keys.key_ids if all_keys else [ev.keys.key_id]
    text = "".join(ev.keys.public_pem(kid).decode("ascii") for kid in kids)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="ascii")
        console.print(f"wrote {len(kids)} public key(s) to {out}")


def register(app: typer.Typer) -> None:
    app.command()(verify)
    app.command()(export)
    app.add_typer(keys_app, name="keys")
