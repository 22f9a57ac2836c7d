"""Read ``cameras.yaml`` and turn every problem into one message a person can act on."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from monitor.config.models import FIELD_MARK, Camera, Config

Section = TypeVar("Section")


class ConfigError(Exception):
    """An invalid configuration; ``str()`` names the file, the camera and the field."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: invalid configuration\n" + "\n".join(f"  - {p}" for p in problems))


UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")
MISSING = ("missing", "missing_argument")


@cache
def _adapter(kind: type[Section]) -> TypeAdapter[Section]:
    return TypeAdapter(kind)


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _describe(raw: Any, error: Any) -> str:
    loc = tuple(error["loc"])
    # Tagged unions and model validators add their own names to loc; drop those.
    loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "tuple["))))
    prefix = ""
    if len(loc) >= 2 and loc[0] == "cameras" and isinstance(loc[1], int):
        camera_id = None
        cameras = raw.get("cameras") if isinstance(raw, dict) else None
        if isinstance(cameras, list) and loc[1] < len(cameras) and isinstance(cameras[loc[1]], dict):
            camera_id = cameras[loc[1]].get("id")
        prefix = f"camera {camera_id!r}: " if camera_id else f"camera #{loc[1] + 1}: "
        loc = loc[2:]
    message = error["msg"].removeprefix("Value error, ")
    field = _field_path(loc)
    if message.startswith(FIELD_MARK):  # a check across fields names the field it blames
        named, message = message.removeprefix(FIELD_MARK).split(": ", 1)
        field = f"{field}.{named}" if loc else named
    if error["type"] in UNKNOWN:
        message = "unknown field (check the spelling; see the configuration reference in README.md)"
    elif error["type"] in MISSING:
        message = "required field is missing"
    found = error.get("input")
    if error["type"] not in UNKNOWN + MISSING and not isinstance(found, (dict, list)):
        message += f" (found {found!r})"
    return f"{prefix}{field}: {message}"


def parse_config(raw: Any, path: str = "<config>") -> Config:
    """Validate already-parsed YAML; raise ConfigError with every problem found."""
    if not isinstance(raw, dict):
        raise ConfigError(path, ["(top level): expected a mapping with site, storage, schedules, cameras"])
    try:
        return _adapter(Config).validate_python(raw)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(raw, e) for e in exc.errors()]) from None


def parse_section(kind: type[Section], raw: Any, path: str) -> Section:
    """Validate one section read from its own file; raise ConfigError with every problem found."""
    try:
        return TypeAdapter(kind).validate_python(raw)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(raw, e) for e in exc.errors()]) from None


def parse_camera(raw: Any) -> Camera:
    """Validate one camera's section on its own (its zones may name no schedule)."""
    return _adapter(Camera).validate_python(raw)


def load_raw(path: str | os.PathLike[str]) -> Any:
    """Parse the YAML text, preserving nothing: validation works on plain data."""
    text_path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(text_path, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(text_path, [f"cannot read the file: {exc}"]) from None
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise ConfigError(text_path, [f"not valid YAML: {exc}"]) from None
    except Exception as exc:  # noqa: BLE001 - ruamel raises a few non-YAMLError types on odd input
        raise ConfigError(text_path, [f"not valid YAML: {exc}"]) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Load and validate ``path``; relative storage paths stay relative to the working directory."""
    return parse_config(load_raw(path), str(path))
