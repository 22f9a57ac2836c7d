"""Checks attached to config fields with ``Annotated``, run by pydantic when a file is validated.

They are plain objects so that the models can be imported without pydantic: a camera worker
receives a config that is already valid and never loads pydantic (about 11 MB a process).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """After the type's own validation, ``problem(value)`` says what is wrong, or None."""

    problem: Callable[[Any], str | None]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema  # only where a file is validated

        def run(value: Any) -> Any:
            if (problem := self.problem(value)) is not None:
                raise ValueError(problem)
            return value

        return core_schema.no_info_after_validator_function(run, handler(source))


@dataclass(frozen=True)
class Before:
    """``convert(raw)`` turns what YAML gives into the field's type, or raises ValueError."""

    convert: Callable[[Any], Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema  # only where a file is validated

        return core_schema.no_info_before_validator_function(self.convert, handler(source))
