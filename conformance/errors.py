"""Exceptions the kit raises on purpose, each rendered by pytest without a kit traceback."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class CaseFileError(Exception):
    """A case file that cannot become tests: names the file, the case and the key path."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        case: str | None = None,
        key: str | None = None,
        line: int | None = None,
        kind: str = "case",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.case = case
        self.key = key
        self.line = line
        self.kind = kind  # "case" or "contract": what the file calls the entry

    def located(
        self,
        *,
        path: Path | None = None,
        case: str | None = None,
        line: int | None = None,
        kind: str | None = None,
    ) -> CaseFileError:
        """Fill in where the error happened, keeping what a deeper level already knew."""
        self.path = self.path or path
        if self.case is None and case is not None:
            self.case, self.kind = case, kind or self.kind
        self.line = self.line if self.line is not None else line
        return self

    def __str__(self) -> str:
        where = str(self.path) if self.path else "<case file>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.case:
            # An entry without an id is named by position ("case #2"), one with an id by its id.
            named = self.case.startswith("#")
            parts.append(f"{self.kind} {self.case}" if named else f"{self.kind} {self.case!r}")
        if self.key is not None:  # an empty key ("" = 1) is named too
            parts.append(f"key {self.key!r}")
        return ": ".join(parts) + f": {self.message}"


class KitEnvironmentError(Exception):
    """The environment cannot run items (no TensorFlow, a requested GPU missing): said once, clearly."""


@dataclass
class ConformanceFailure(Exception):
    """One item's failed expectations, rendered as a bug report by the item's ``repr_failure``."""

    header: str
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        body = "\n\n".join(self.problems)
        return f"{self.header}\n\n{body}" if body else self.header
