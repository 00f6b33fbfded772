"""Case files become pytest items: one per (case variant, path, mode, dtype, device), named by ItemId."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import casefile
from conformance.casefile.case import Case, Contract
from conformance.errors import CaseFileError, ConformanceFailure, KitEnvironmentError
from conformance.harness.options import Settings
from conformance.item import ItemId
from conformance.verdict import contract, isolation
from conformance.verdict.judge import judge
from conformance.verdict.outcome import ItemOutcome

SETTINGS = pytest.StashKey[Settings]()
SEEN_IDS = pytest.StashKey[dict[str, Path]]()
CASE_FILE_ERRORS = pytest.StashKey[int]()
_CASE_HEADER = re.compile(rb"^\s*\[\[\s*(?:case|contract)\s*\]\]|^\s*\[\s*defaults\s*\]", re.MULTILINE)


def is_case_file(path: Path, settings: Settings) -> bool:
    """A ``.toml`` under a configured case folder, or any ``.toml`` holding [[case]], [[contract]] or
    [defaults]."""
    if path.suffix != ".toml":
        return False
    if any(path == p or p in path.parents for p in settings.extra_paths):
        return True
    try:
        return bool(_CASE_HEADER.search(path.read_bytes()))
    except OSError:
        return False


class CaseFile(pytest.File):
    def collect(self) -> Iterator[CaseItem | ContractItem]:
        try:
            cases = casefile.load(self.path)
            self._claim_ids(cases)
        except CaseFileError as exc:
            stash = self.config.stash
            stash[CASE_FILE_ERRORS] = stash.get(CASE_FILE_ERRORS, 0) + 1
            raise self.CollectError(str(exc)) from None
        settings = self.config.stash[SETTINGS]
        for case in cases:
            if isinstance(case, Contract):
                yield ContractItem.from_parent(self, name=ItemId.contract(case.id).name, contract=case)
                continue
            for path, context, mode, dtype, device in itertools.product(
                case.paths, case.contexts, case.modes, case.dtypes, case.devices
            ):
                if device in settings.devices:
                    item = ItemId(case.id, case.variant, path, mode, dtype, device, context)
                    yield CaseItem.from_parent(self, name=item.name, case=case, item=item)

    def _claim_ids(self, cases: list[Case | Contract]) -> None:
        """Ids are unique across the session's files: a second file using one is a collection error."""
        seen = self.config.stash.setdefault(SEEN_IDS, {})
        for case_id, line in {c.id: c.line for c in cases}.items():
            other = seen.setdefault(case_id, self.path)
            if other != self.path:
                error = CaseFileError(
                    f"case id also defined in {other}; ids must be unique across collected files",
                    path=self.path,
                    case=case_id,
                    key="id",
                    line=line or None,
                )
                raise error


def continue_past_case_file_errors(session: pytest.Session) -> None:
    """A malformed case file is one collection error, and the other files still run; pytest would stop
    the whole run ("Interrupted: 1 error during collection"). Only when every collection error is a case
    file's: other collection errors keep pytest's rule. The exit status stays non-zero (pytest counts the
    errors as failures). Under xdist the controller does not stop for them anyway."""
    bad = session.config.stash.get(CASE_FILE_ERRORS, 0)
    if bad and session.testsfailed <= bad:
        session.config.option.continue_on_collection_errors = True


@functools.cache
def _mark(name: str) -> pytest.MarkDecorator:
    """One decorator per marker name: thousands of items share them (``pytest.mark.X`` is not free)."""
    return getattr(pytest.mark, name)  # type: ignore[no-any-return]


class _Item(pytest.Item):
    """What case and contract items share: running a judge in isolation, reporting its outcome."""

    line: int = 0
    item: ItemId

    def judge(self) -> ItemOutcome:
        raise NotImplementedError

    def runtest(self) -> None:
        settings = self.config.stash[SETTINGS]
        where = isolation.Where(self.item, self.nodeid, f"{self.item.label}   ({self.path.name}:{self.line})")
        outcome = isolation.run(
            self.judge, where, timeout=settings.timeout, deterministic=settings.deterministic
        )
        record = (
            {**outcome.record, "problems": list(outcome.problems)} if outcome.problems else outcome.record
        )
        self.user_properties.append(("conformance", record))
        if outcome.environment:
            self.user_properties.append(("conformance_env", outcome.environment))
        if outcome.skip:  # reported at the case's location, as a skip marker would be
            raise pytest.skip.Exception(outcome.skip, _use_item_location=True)
        if outcome.status == "xfailed":
            pytest.xfail(outcome.reason)
        if outcome.status == "failed":
            raise ConformanceFailure(outcome.header, list(outcome.problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, (ConformanceFailure, KitEnvironmentError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.line - 1 if self.line else None, self.item.label

    def _marks(self, *names: str) -> None:
        for name in names:
            self.add_marker(_mark(name))


class ContractItem(_Item):
    def __init__(self, *, contract: Contract, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.contract, self.line, self.item = contract, contract.line, ItemId.contract(contract.id)
        self._marks("conformance", "contract", *(("known_divergence",) if contract.divergences else ()))

    def judge(self) -> ItemOutcome:
        return contract.judge(self.contract)


class CaseItem(_Item):
    def __init__(self, *, case: Case, item: ItemId, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case, self.item, self.line = case, item, case.line
        self._marks("conformance", item.path, item.context, item.mode, item.dtype, item.device, case.layer)
        if case.divergences:
            self._marks("known_divergence")

    def judge(self) -> ItemOutcome:
        return judge(self.case, self.item, self.config.stash[SETTINGS].judge_options)
