"""Case files become pytest items: one per (case variant, path, mode, dtype, device)."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import casefile, contract, isolation, verdict
from conformance.case import Case, Contract
from conformance.errors import CaseFileError, ConformanceFailure, KitEnvironmentError
from conformance.settings import Settings

SETTINGS = pytest.StashKey[Settings]()
SEEN_IDS = pytest.StashKey[dict[str, Path]]()
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
        except CaseFileError as exc:
            raise self.CollectError(str(exc)) from None
        seen = self.config.stash.setdefault(SEEN_IDS, {})
        for case_id, line in {c.id: c.line for c in cases}.items():
            other = seen.setdefault(case_id, self.path)
            if other != self.path:
                raise self.CollectError(
                    str(
                        CaseFileError(
                            f"case id also defined in {other}; ids must be unique across collected files",
                            path=self.path,
                            case=case_id,
                            key="id",
                            line=line or None,
                        )
                    )
                )
        settings = self.config.stash[SETTINGS]
        for case in cases:
            if isinstance(case, Contract):
                yield ContractItem.from_parent(self, name=f"{case.id}[contract]", contract=case)
                continue
            for path, mode, dtype, device in itertools.product(
                case.paths, case.modes, case.dtypes, case.devices
            ):
                if device in settings.devices:
                    yield CaseItem.from_parent(
                        self, case=case, path=path, mode=mode, dtype=dtype, device=device
                    )


@functools.cache
def _mark(name: str) -> pytest.MarkDecorator:
    """One decorator per marker name: thousands of items share them (``pytest.mark.X`` is not free)."""
    return getattr(pytest.mark, name)  # type: ignore[no-any-return]


class _Item(pytest.Item):
    """What case and contract items share: running a judge, reporting its outcome."""

    line: int = 0
    label: str = ""

    def judge(self) -> verdict.ItemOutcome:
        raise NotImplementedError

    def runtest(self) -> None:
        outcome = isolation.run(self, self.config.stash[SETTINGS])  # state restored, time-limited
        self.user_properties.append(("conformance", outcome.record))
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
        return self.path, self.line - 1 if self.line else None, self.label


class ContractItem(_Item):
    def __init__(self, *, contract: Contract, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.contract, self.line, self.label = contract, contract.line, f"{contract.id} [contract]"
        for marker in ("conformance", "contract", *(("known_divergence",) if contract.divergences else ())):
            self.add_marker(_mark(marker))

    def judge(self) -> verdict.ItemOutcome:
        return contract.judge(self.contract)


class CaseItem(_Item):
    def __init__(self, *, case: Case, path: str, mode: str, dtype: str, device: str, **kwargs: Any) -> None:
        params = "-".join(p for p in (case.variant, path, mode, dtype, device) if p)
        super().__init__(name=f"{case.id}[{params}]", **kwargs)
        self.case, self.rnn_path, self.mode, self.dtype, self.device = case, path, mode, dtype, device
        self.line, self.label = case.line, f"{case.id} [{params}]"
        for marker in ("conformance", path, mode, dtype, device, case.layer):
            self.add_marker(_mark(marker))
        if case.divergences:
            self.add_marker(_mark("known_divergence"))

    def judge(self) -> verdict.ItemOutcome:
        settings = self.config.stash[SETTINGS]
        return verdict.judge(
            self.case,
            self.rnn_path,
            self.dtype,
            self.device,
            mode=self.mode,
            gpu_required=settings.gpu_required,
            record_dir=settings.record,
            baseline_dir=settings.baseline,
        )
