"""``hotspot custodians`` and ``hotspot unmask``: the key that opens native originals.

The site keeps only the public recipient; the private key exists as custodians' shares, and
``unmask`` rebuilds it in memory from shares of at least the threshold of custodians.
Exit status: 0 done, 1 refused (shares, hashes), 2 usage.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from evidence.actions import Action
from evidence.custodians import (
    ShareError,
    read_share,
    rebuild_identity,
    split_new_key,
    write_share_files,
)
from evidence.errors import ClipNotFound, EvidenceError, VerificationError
from evidence.store import EvidenceStore
from evidence.unmask import Approval, Disclosure, custodians_of, sealed_original, unmask_bundle
from monitor.cli.common import DEFAULT_CONFIG, ConfigOption, console, load_or_exit
from monitor.config import Config, ConfigError, parse_config
from monitor.objects.bucket import version_reader

custodians_app = typer.Typer(help="The custodians whose shares unmask native originals.",
                             no_args_is_help=True)


@custodians_app.command("init")
def custodians_init(
    threshold: Annotated[int, typer.Option("--threshold", help="shares needed to unmask (at least 2)")],
    names: Annotated[str, typer.Option("--names", help="custodians, comma-separated, e.g. principal,counsel")],
    out: Annotated[Path, typer.Option("--out", help="folder for the share files (removable media, not the "
                                                    "storage folder)")],
    replace: Annotated[bool, typer.Option("--replace", help="replace a key already set (originals already "
                                                            "recorded still need the old shares)")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Make the unmask key, write one share file per custodian, and keep only its public half."""
    cfg = load_or_exit(config)
    custodians = [n.strip() for n in names.split(",") if n.strip()]
    storage = Path(cfg.storage.path).resolve()
    if out.resolve().is_relative_to(storage):
        _usage(f"--out {out} is inside the storage folder {storage}; shares must leave the server")
    if cfg.originals.recipient and not replace:
        _usage(f"an unmask key is already set ({cfg.originals.recipient}); --replace makes a new one")
    taken = [n for n in custodians if (out / f"{n}.share.txt").exists()]
    if taken:
        _usage(f"{out}: share files already exist for {', '.join(taken)}")
    try:
        key = split_new_key(custodians, threshold=threshold, site=cfg.site.name)
        updated = _set_originals(config, recipient=key.recipient, threshold=threshold, custodians=custodians)
    except (EvidenceError, ConfigError) as exc:
        _usage(str(exc))
    files = write_share_files(out, key.shares)
    _log_custodians(updated, key.recipient, threshold, custodians)
    console.print(f"unmask key {key.recipient}: shares of any {threshold} of {len(custodians)} custodians "
                  "open originals", highlight=False)
    for path, share in zip(files, key.shares, strict=True):
        console.print(f"  {share.custodian}: {path}", highlight=False)
    console.print("Hand each file to its custodian and delete it here; the key itself was never written.",
                  highlight=False)


@custodians_app.command("show")
def custodians_show(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Print the unmask recipient, the threshold and the custodians, in share order."""
    cfg = load_or_exit(config)
    originals = cfg.originals
    if not originals.recipient:
        console.print("no unmask key: run `hotspot custodians init`; masked cameras keep no original")
        raise typer.Exit(1)
    print(f"recipient: {originals.recipient}")
    print(f"threshold: {originals.threshold} of {len(originals.custodians)}")
    for number, name in enumerate(originals.custodians, start=1):
        print(f"share {number}: {name}")


def unmask(
    clip_id: Annotated[str, typer.Argument(help="the clip whose native original is disclosed")],
    share: Annotated[list[Path], typer.Option("--share", help="a custodian's share file (repeat: at least the "
                                                              "threshold, each from another custodian)")],
    case: Annotated[str, typer.Option("--case", help="case or incident reference")],
    reason: Annotated[str, typer.Option("--reason", help="why the original is unmasked (logged)")],
    recipient: Annotated[str, typer.Option("--recipient", help="who receives the original (logged)")],
    interest: Annotated[str, typer.Option("--interest", help="the recipient's interest in it (logged)")],
    by: Annotated[str, typer.Option("--by", help="who performs the disclosure (logged)")],
    out: Annotated[Path, typer.Option("--out", help="bundle to write (.zip), outside the storage folder")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Rebuild the unmask key in memory from custodians' shares and export the clip's original.

    Fewer shares than the threshold, a wrong or altered share, or two shares of one custodian
    are refused before anything is decrypted, logged or written.
    """
    from monitor.cli.evidence_cmds import _open_store

    cfg = load_or_exit(config)
    ev = _open_store(cfg)
    try:
        original = sealed_original(ev, clip_id)
        identity, approvals = None, []
        if original.get("recipient") is not None:
            shares = [read_share(path) for path in share]
            names = _custodians_of(ev, cfg, str(original["recipient"]))
            identity = rebuild_identity(shares, recipient=str(original["recipient"]), custodians=names)
            approvals = [Approval(s.custodian, s.number) for s in shares]
        path = unmask_bundle(ev, clip_id, out, identity=identity, approvals=approvals, disclosure=Disclosure(
            case=case, reason=reason, recipient=recipient, interest=interest, by=by),
            objects=version_reader(cfg.storage.objects))
    except (ShareError, VerificationError) as exc:
        console.print(f"[bold red]REFUSED[/] {exc}; nothing was written", highlight=False)
        raise typer.Exit(1) from None
    except (ClipNotFound, EvidenceError) as exc:
        _usage(f"{exc}; nothing was written")
    console.print(f"wrote {path} (original of clip {clip_id}, case {case}); verify with `hotspot verify {path}`",
                  highlight=False)


def _custodians_of(ev: EvidenceStore, cfg: Config, recipient: str) -> list[str]:
    """Who holds which share of ``recipient``: the signed entry that set it, else the config."""
    logged = custodians_of(ev, recipient)
    if logged is not None:
        return list(logged)
    return list(cfg.originals.custodians) if cfg.originals.recipient == recipient else []


def _usage(message: str) -> Any:
    console.print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def _set_originals(path: Path, *, recipient: str, threshold: int, custodians: list[str]) -> Config:
    """Edit the ``originals`` section round-trip (comments survive), validated, written atomically."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    doc = yaml.load(path.read_text(encoding="utf-8"))
    section = doc.get("originals")
    if not isinstance(section, CommentedMap):
        section = CommentedMap()
        doc["originals"] = section
    names = CommentedSeq(custodians)
    names.fa.set_flow_style()
    section.update({"recipient": recipient, "threshold": threshold, "custodians": names})
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    text = buffer.getvalue()
    config = parse_config(YAML(typ="safe", pure=True).load(text), str(path))
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return config


def _log_custodians(cfg: Config, recipient: str, threshold: int, custodians: list[str]) -> None:
    """A signed entry says which key originals are encrypted to from now on, and who holds it."""
    from monitor.cli.evidence_cmds import _open_store

    _open_store(cfg).append(Action.CUSTODIANS_SET, actor="system", details={
        "recipient": recipient, "threshold": threshold, "custodians": custodians,
    })


def register(app: typer.Typer) -> None:
    app.add_typer(custodians_app, name="custodians")
    app.command()(unmask)
