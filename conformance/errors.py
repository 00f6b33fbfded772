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
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.case = case
        self.key = key
        self.line = line

    def located(
        self, *, path: Path | None = None, case: str | None = None, line: int | None = None
    ) -> CaseFileError:
        """Fill in where the error happened, keeping what a deeper level already knew."""
        self.path = self.path or path
        self.case = self.case or case
        self.line = self.line if self.line is not None else line
        return self

    def __str__(self) -> str:
        where = str(self.path) if self.path else "<case file>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.case:
            parts.append(f"case {self.case!r}")
        if self.key:
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
