"""Edits of ``cameras.yaml`` from the dashboard, made the way an admin would make them by hand.

The YAML is edited round-trip (comments and key order survive), validated with exactly the
rules of the config loader, written atomically, applied to the running workers and recorded
in the custody log. An invalid edit changes nothing: the last good file stays in force.
Recorder nodes sharing the file are told of the edit (``announce``) and apply it with
``follow``, without writing or logging it again.

Edits are optimistic: an editor page shows the ``version`` of the part it replaces (one
camera's zones, the schedules, the routes) and sends it back as ``based_on``; under a lock on
the file that every process (and every node on the shared folder) takes, an edit whose part
changed since is refused (``StaleEdit``, HTTP 409). An edit only ever replaces its own part of
the file as it is now, so edits of different parts (two cameras' zones) both land.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from evidence.actions import Action
from evidence.hashing import sha256_bytes
from monitor.config import Config, ConfigError, parse_config
from monitor.site.runtime import Runtime
from monitor.store.config_channel import ConfigNotice
from monitor.store.file_modes import FileModes, write_private_text

Mutation = Callable[[CommentedMap], dict[str, Any]]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    config: Config
    sha256: str
    change: dict[str, Any]


class StaleEdit(Exception):
    """The part of the configuration an edit replaces changed since its editor loaded it."""


def version_of(part: Any) -> str:
    """The version an editor shows of the part it edits: a hash of its data (JSON-able)."""
    return sha256_bytes(json.dumps(part, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8"))


@dataclass(frozen=True)
class Based:
    """What an edit replaces: ``part`` of a configuration, as ``version`` (``version_of``) when
    its editor loaded it; ``what`` names it for people ("the zones of camera hall")."""

    part: Callable[[Config], Any]
    version: str
    what: str

    def current(self, config: Config) -> str | None:
        try:
            return version_of(self.part(config))
        except LookupError:  # the camera went in the meantime
            return None


_PLAIN_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+/-]*")


def flow(items: list[Any]) -> CommentedSeq:
    """A YAML sequence written inline (``[a, b]``), as polygons and day lists are in the shipped file.
    Strings other than plain words are double-quoted: in a flow sequence the emitter writes
    some strings plain that no parser reads back (``[a, : b]``)."""
    seq = CommentedSeq([DoubleQuotedScalarString(item) if isinstance(item, str) and not _PLAIN_WORD.fullmatch(item)
                        else item for item in items])
    seq.fa.set_flow_style()
    return seq


_WHERE = re.compile(r"^schedules\.(?P<schedule>[^.\[]+)\.windows\[(?P<window>\d+)\](?:\.(?P<field>\w+))?: ")
_FIELDS = {"from": "start", "to": "end", "days": "days"}


def for_people(problem: str) -> str:
    """A config loader's problem as the schedule editor shows it: the schedule by name and
    windows counted from 1, as on the screen (the loader's own text stays for the command line)."""
    found = _WHERE.match(problem)
    if found is None:
        return problem
    where = f"Schedule \u201c{found['schedule']}\u201d, window {int(found['window']) + 1}"
    if found["field"]:
        where += f" ({_FIELDS.get(found['field'], found['field'])})"
    return f"{where}: {problem[found.end():]}"


def plain(value: Any) -> Any:
    """The data of a YAML node, without its comments and styles (for comparing edits)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def first_difference(written: Any, read: Any, where: str = "") -> str | None:
    """Where two plain documents first differ (``cameras[0].label``; "" for the whole), or None."""
    if isinstance(written, dict) and isinstance(read, dict):
        if list(written) != list(read):
            return where
        for key, value in written.items():
            found = first_difference(value, read[key], f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
        return None
    if isinstance(written, list) and isinstance(read, list):
        if len(written) != len(read):
            return where
        for index, (one, other) in enumerate(zip(written, read, strict=True)):
            found = first_difference(one, other, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    return None if written == read else where


def assign(target: CommentedMap, key: str, value: Any) -> None:
    """Set ``key`` only when its data changes: an unchanged value keeps its spelling (``0.20``),
    quotes, flow style and comments, so a save touches only what the person changed."""
    if value is None or value == "":
        target.pop(key, None)
    elif key not in target or plain(target[key]) != plain(value):
        target[key] = value


def sync_items(seq: CommentedSeq | None, items: list[Any]) -> CommentedSeq:
    """Make ``seq`` hold ``items`` (existing nodes reused) while keeping the comments of the
    items that stay; new items take the flow or block style of their siblings."""
    if seq is None:
        return CommentedSeq(items)
    flow_siblings = any(getattr(x, "fa", None) is not None and x.fa.flow_style() for x in seq)
    keep = {id(x) for x in items}
    for index in reversed(range(len(seq))):
        if id(seq[index]) not in keep:
            del seq[index]
    if [id(x) for x in seq] != [id(x) for x in items][: len(seq)]:
        seq.clear()  # reordered: comments cannot follow, the data must
    present = {id(x) for x in seq}
    for item in items:
        if id(item) not in present:
            if flow_siblings and isinstance(item, CommentedMap):
                item.fa.set_flow_style()
            seq.append(item)
    return seq


class ConfigEditor:
    def __init__(self, path: Path, runtime: Runtime, apply: Callable[[Config], None], *,
                 announce: Callable[[str], None] | None = None) -> None:
        self._path = path
        self._runtime = runtime
        self._apply = apply
        self._announce = announce
        self._lock = threading.Lock()
        self._applied = sha256_bytes(path.read_bytes())
        """SHA-256 of the file whose contents are in force here."""

    def read(self) -> CommentedMap:
        doc: CommentedMap = self._yaml().load(self._path.read_text(encoding="utf-8"))
        return doc

    def update(self, mutate: Mutation, *, actor: str, based: Based | None = None) -> Applied:
        """Apply ``mutate`` to the document as it is now; raise ConfigError (nothing written) when
        invalid, and StaleEdit when ``based``'s part changed since its editor loaded it."""
        with self._lock, self._file_lock():
            before = self._path.read_bytes()
            if based is not None and based.current(self._checked(before.decode("utf-8"))) != based.version:
                raise StaleEdit(f"{based.what} changed since you loaded them (on this or another node); "
                                "your edit was not saved: the page shows them as they are now, edit them again")
            yaml = self._yaml()
            doc = yaml.load(before.decode("utf-8"))
            change = mutate(doc)
            buffer = io.StringIO()
            yaml.dump(doc, buffer)
            text = buffer.getvalue()
            data = YAML(typ="safe", pure=True).load(text)
            self._reads_back(doc, data)
            config = self._parsed(data)
            self._write(text)
            digest = sha256_bytes(text.encode("utf-8"))
            self._put_in_force(config, digest)
            self._runtime.evidence.append(
                Action.CONFIG_CHANGED, actor=actor, details={
                    **change, "file": self._path.name, "config_sha256": digest,
                    "previous_sha256": sha256_bytes(before),
                },
            )
        if self._announce is not None:
            self._announce(digest)
        return Applied(config, digest, change)

    def follow(self, notice: ConfigNotice | None = None) -> Config | None:
        """Apply the file as another node's edit left it (``notice``: what that node wrote;
        None to catch up on edits missed while not listening). Returns the config
        applied, or None when nothing changed or the file is refused (logged; the last good
        configuration stays in force, as for a refused edit)."""
        with self._lock:
            data = self._path.read_bytes()
            digest = sha256_bytes(data)
            if digest == self._applied:
                if notice is not None and notice.sha256 != digest:
                    log.warning("node %s wrote configuration %s, but %s holds %s (unless edited again "
                                "since, the nodes do not share one configuration file)", notice.node,
                                notice.sha256[:12], self._path, digest[:12])
                return None
            try:
                config = self._checked(data.decode("utf-8"))
            except (ConfigError, YAMLError, UnicodeDecodeError) as exc:
                log.error("configuration edited on another node not applied: %s", exc)
                return None
            self._put_in_force(config, digest)
            log.info("applied the configuration edited on node %s (%s)",
                     notice.node if notice else "another", digest[:12])
            return config

    def _checked(self, text: str) -> Config:
        """The config ``text`` holds, validated by the loader's rules; ConfigError otherwise."""
        return self._parsed(YAML(typ="safe", pure=True).load(text))

    def _parsed(self, data: Any) -> Config:
        """``_checked`` for text already read as YAML."""
        config = parse_config(data, str(self._path))
        if config.storage != self._runtime.config.storage:
            raise ConfigError(str(self._path), ["storage: cannot be changed while the service runs"])
        return config

    def _reads_back(self, doc: CommentedMap, data: Any) -> None:
        """Refuse an edit whose text (read back as ``data``) the file would not give back as
        typed: YAML reads a NEL (U+0085) the emitter wrote inside quotes as a line break, so a
        name would change silently. Nothing else is known to; the check covers whatever may."""
        where = first_difference(plain(doc), plain(data))
        if where is not None:
            problem = (f"{where or 'the file'}: this text would not read back from the file as typed "
                       "(it holds a character YAML changes, such as U+0085); remove it")
            raise ConfigError(str(self._path), [problem])

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Held from reading the file to writing it, by every process editing it: the service's
        own threads hold ``_lock`` too, other nodes on the shared folder only this."""
        lock = self._path.with_name(f".{self._path.name}.lock")
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _put_in_force(self, config: Config, digest: str) -> None:
        self._runtime.config = config
        self._apply(config)
        self._applied = digest

    def _write(self, text: str) -> None:
        """Atomically, and readable by the service's user (and ``storage.group``) only: the file
        holds camera passwords and the database URL."""
        write_private_text(self._path, text, FileModes(self._runtime.config.storage.group))

    @staticmethod
    def _yaml() -> YAML:
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 120
        yaml.indent(mapping=2, sequence=4, offset=2)
        return yaml


def save_edit(editor: ConfigEditor, mutate: Mutation, *, actor: str, based: Based | None, refused: str,
              people: Callable[[str], str] = str) -> Applied:
    """An editor's PUT: 409 for a stale edit, 422 with the loader's problems (``people`` words
    them) for an invalid one."""
    try:
        return editor.update(mutate, actor=actor, based=based)
    except StaleEdit as exc:
        raise HTTPException(409, {"message": str(exc), "problems": [str(exc)], "stale": True}) from None
    except ConfigError as exc:
        raise HTTPException(422, {"message": refused, "problems": [people(p) for p in exc.problems]}) from None
