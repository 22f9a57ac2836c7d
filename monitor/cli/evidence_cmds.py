"""``hotspot verify``, ``hotspot export`` and ``hotspot keys``: the evidence chain by hand.

Exit status: 0 when everything verifies, 1 when something fails, 2 on usage errors.
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

from evidence.bundle import verify_bundle
from evidence.bundle_format import CASE_BUNDLE_TYPE
from evidence.case_bundle import bundle_kind, verify_case_bundle
from evidence.errors import ClipNotFound, EvidenceError, KeyringError, VerificationError
from evidence.export import export_bundle
from evidence.report import StoreReport
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, console, interactive, load_or_exit
from monitor.config import Config
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


def _witness(cfg: Config) -> Path | None:
    return Path(cfg.storage.witness_path) if cfg.storage.witness_path else None


def _open_store(cfg: Config) -> EvidenceStore:
    """The store with its signing key; a key problem is a failure (1), never silently replaced."""
    paths = StoragePaths(Path(cfg.storage.path).resolve())
    paths.ensure()
    try:
        return EvidenceStore.open(paths.root, make_engine(cfg.storage.database),
                                  checkpoint_every=cfg.storage.checkpoint_every, witness=_witness(cfg))
    except KeyringError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


def verify(
    bundle: Annotated[Path | None, typer.Argument(help="an export bundle (.zip); omit to verify the whole store")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
    trust: Annotated[list[str] | None, typer.Option(
        "--trust", help="bundle: fingerprint of a site key you trust (repeatable)")] = None,
) -> None:
    """Verify an export bundle offline, or the whole store: custody log, checkpoints and clips."""
    if bundle is not None:
        _verify_bundle(bundle, as_json, trust)
        return
    cfg = load_or_exit(config)
    root = Path(cfg.storage.path).resolve()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                        console=console, disable=not interactive() or as_json, transient=True)
    with progress:
        report = verify_store(root, make_engine(cfg.storage.database), witness=_witness(cfg),
                              progress=RichProgress(progress))
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print_store_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _verify_bundle(bundle: Path, as_json: bool, trust: list[str] | None) -> None:
    if not bundle.is_file():
        console.print(f"[red]error:[/] {bundle}: no such file")
        raise typer.Exit(2)
    if bundle_kind(bundle) == CASE_BUNDLE_TYPE:
        _verify_case_bundle(bundle, as_json, trust)
        return
    try:
        report = verify_bundle(bundle, trusted_keys=trust)
    except VerificationError as exc:
        _failed(exc, as_json)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    table = Table(title=f"{bundle.name}: verified", show_header=False)
    for label, value in (("clip", report.clip_id), ("sha256", report.sha256), ("sealed", report.sealed_at),
                         ("case", report.case), ("reason", report.reason), ("exported by", report.exported_by),
                         ("exported", report.exported_at), ("custody", ", ".join(report.actions)),
                         ("signed by", report.signed_by + ("" if report.pinned else "  (compare with the "
                                                           "published fingerprint)"))):
        table.add_row(label, value)
    console.print(table)


def _failed(exc: VerificationError, as_json: bool) -> NoReturn:
    if as_json:
        print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}))
    else:
        console.print(f"[bold red]FAILED[/] {exc}", highlight=False)
    raise typer.Exit(1) from None


def _verify_case_bundle(bundle: Path, as_json: bool, trust: list[str] | None) -> None:
    try:
        report = verify_case_bundle(bundle, trusted_keys=trust)
    except VerificationError as exc:
        _failed(exc, as_json)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        console.print(f"{bundle.name}: verified", highlight=False)
        print(report.summary())


def _print_store_report(report: StoreReport) -> None:
    summary = (f"{report.entries} custody entries, {report.checkpoints} checkpoints, {report.clips} sealed "
               f"clips, {report.bytes_hashed / 1e6:.1f} MB re-hashed")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if report.ok:
        console.print(f"[bold green]OK[/] {summary}", highlight=False)
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
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Export a sealed clip as a signed bundle anyone can verify; the export is logged."""
    ev = _open_store(load_or_exit(config))
    try:
        path = export_bundle(ev, clip_id, out, case=case, reason=reason, by=by)
    except VerificationError as exc:
        console.print(f"[bold red]FAILED[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except (ClipNotFound, EvidenceError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"wrote {path} (clip {clip_id}, case {case}); verify with `hotspot verify {path}`",
                  highlight=False)


@keys_app.command("show")
def keys_show(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Print the current signing key's fingerprint and every key in the keyring."""
    ev = _open_store(load_or_exit(config))
    for kid in ev.keys.key_ids:
        marker = "current" if kid == ev.keys.key_id else "retired"
        print(f"{kid}  {marker}")


@keys_app.command("rotate")
def keys_rotate(
    by: Annotated[str, typer.Option("--by", help="who rotates the key (logged)")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Replace the signing key; the old key signs the entry naming the new one and stays in the keyring."""
    ev = _open_store(load_or_exit(config))
    record = ev.rotate_key(actor=by)
    print(f"rotated: {record.details['old_key_id']} -> {record.details['new_key_id']} (entry #{record.seq})")


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
