"""``hotspot retention``: apply retention and the free-space floor now, or show what they would do.

The supervisor runs the same checks every minute; this command is for a cron job on a site that
runs the service elsewhere, and for an administrator checking before a change of policy.
Exit status: 0 done, 1 still below the free-space floor (only held clips left), 2 usage errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, console, load_or_exit
from monitor.site.runtime import Runtime
from monitor.site.storage_guard import StorageGuard

DryRunOption = Annotated[bool, typer.Option("--dry-run", help="list what would be deleted; delete nothing")]


def retention(config: ConfigOption = DEFAULT_CONFIG, dry_run: DryRunOption = False) -> None:
    """Delete sealed clips past retention_days, then the oldest unheld ones while below min_free_mb."""
    cfg = load_or_exit(config)
    runtime = Runtime.open(cfg)
    try:
        guard = StorageGuard(runtime)
        now = datetime.now(UTC)
        floor = cfg.storage.min_free_mb
        if dry_run:
            expired = guard.expired(now)
            for clip_id in expired:
                typer.echo(f"would delete {clip_id} (older than {cfg.storage.retention_days} days)")
            console.print(f"{len(expired)} clip(s) past retention; {guard.free_mb():.0f} MiB free, "
                          f"floor {floor} MiB")
            return
        deleted = guard.enforce_retention(now)
        for clip_id in deleted:
            typer.echo(f"deleted {clip_id} (older than {cfg.storage.retention_days} days)")
        if not guard.ensure_space():
            console.print(f"[red]error:[/] {guard.free_mb():.0f} MiB free, below the {floor} MiB floor, "
                          "and every remaining clip is on legal hold")
            raise typer.Exit(1)
        console.print(f"{len(deleted)} clip(s) deleted by retention; {guard.free_mb():.0f} MiB free")
    finally:
        runtime.close()


def register(app: typer.Typer) -> None:
    app.command()(retention)
