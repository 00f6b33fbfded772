"""Known divergences: which declarations apply to an item, and what its outcome is given them.

A divergence is strict. If what it declares happens, the item is an xfail carrying the reason; if it
does not happen any more, the item fails and says the divergence is gone, so a declaration never outlives
the behaviour it describes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.casefile.case import Divergence
from conformance.run.tfenv import TFEnv


def applicable(
    divergences: Sequence[Divergence],
    path: str,
    dtype: str | None,
    device: str,
    env: TFEnv,
    mode: str = "eager",
) -> list[Divergence]:
    """The declarations whose paths and conditions match this item in this environment."""
    found = []
    for d in divergences:
        if path not in d.paths:
            continue
        if d.tf is not None and not d.tf.contains(env.tf_version, prereleases=True):
            continue
        if d.keras is not None and not d.keras.contains(env.keras_version, prereleases=True):
            continue
        if d.flavours is not None and env.flavour not in d.flavours:
            continue
        if d.devices is not None and device not in d.devices:
            continue
        if d.dtypes is not None and dtype not in d.dtypes:
            continue
        if d.modes is not None and mode not in d.modes:
            continue
        found.append(d)
    return found


def exception_matches(name: str, pattern: str | None, error: BaseException) -> bool:
    """Is ``error`` an instance of a class called ``name`` (bare or module-qualified, anywhere in its
    MRO), with a message that ``pattern`` finds (``re.search``)? Declarations and contracts both ask this."""
    mro = type(error).__mro__
    names = {c.__name__ for c in mro} | {f"{c.__module__}.{c.__name__}" for c in mro}
    return name in names and (pattern is None or re.search(pattern, str(error)) is not None)


def raised_matches(d: Divergence, error: BaseException) -> bool:
    return d.raises is not None and exception_matches(d.raises, d.match, error)


@dataclass(frozen=True)
class Outcome:
    """How an item ends: ``passed``, ``xfailed`` (with the reason) or ``failed`` (with the problems)."""

    status: str
    reason: str = ""
    problems: tuple[str, ...] = ()


def decide(
    divergences: Sequence[Divergence],
    error: BaseException | None,
    call: str,
    failed_checks: dict[str, list[str]],
    happened: str = "returned normally",
) -> Outcome:
    """Combine what happened (an exception, or failed checks) with what was declared."""
    raising = [d for d in divergences if d.raises]
    failing = [d for d in divergences if d.fails]
    if error is not None:
        for d in raising:
            if raised_matches(d, error):
                return Outcome("xfailed", f"known divergence: {d.describe()}")
        said = f"{call} raised {type(error).__name__}: {error}"
        if raising:
            said += "\n  declared instead: " + "; ".join(d.describe() for d in raising)
        return Outcome("failed", problems=(said,))
    problems = [
        f"known divergence is gone: declared that this item {d.describe()}, but {call} {happened}. "
        "Remove or narrow the declaration."
        for d in raising
    ]
    declared = {name: d for d in failing for name in d.fails}
    for name, msgs in failed_checks.items():
        if name not in declared:
            problems.extend(f"[{name}] {m}" for m in msgs)
    for name, d in declared.items():
        if name not in failed_checks:
            problems.append(
                f"known divergence is gone: check {name!r} was declared to fail ({d.describe()}) "
                "but passed. Remove or narrow the declaration."
            )
    if problems:
        return Outcome("failed", problems=tuple(problems))
    if declared:
        reasons = "; ".join(sorted({d.describe() for d in declared.values()}))
        detail = "\n".join(f"[{n}] {m}" for n, ms in failed_checks.items() for m in ms)
        return Outcome("xfailed", f"known divergence: {reasons}\n{detail}")
    return Outcome("passed")
