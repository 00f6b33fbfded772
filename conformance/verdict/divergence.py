"""Known divergences: which declarations apply to an item, and what its outcome is given them.

A divergence is strict both ways, and excuses only what it names. A declared raise must happen (the exact
class, the message matching); declared differences must each be found (on the subjects named, at exactly
the steps named, matching the pattern named), and where the divergence says which known behaviour the
layer follows instead, the named findings must vanish against that behaviour's reference. Every finding a
divergence does not name fails the item, as without it. When what is declared no longer happens, the item
fails and says the divergence is gone, so a declaration never outlives the behaviour it describes.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance.casefile.case import Differs, Divergence
from conformance.checks.base import Finding
from conformance.checks.compare import ranges
from conformance.run.tfenv import TFEnv


def applicable(
    divergences: Sequence[Divergence],
    path: str,
    dtype: str | None,
    device: str,
    env: TFEnv,
    mode: str = "eager",
    layer: str | None = None,
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
        if d.layers is not None and layer not in d.layers:
            continue
        found.append(d)
    return found


def exception_is(name: str, pattern: str | None, error: BaseException) -> bool:
    """Is ``error`` exactly of the class called ``name`` (bare or module-qualified; not a subclass of it,
    not a base class of it), with a message that ``pattern`` finds (``re.search``)?"""
    cls = type(error)
    names = {cls.__name__, f"{cls.__module__}.{cls.__name__}"}
    return name in names and (pattern is None or re.search(pattern, str(error)) is not None)


def raised_matches(d: Divergence, error: BaseException) -> bool:
    return d.raises is not None and exception_is(d.raises, d.match, error)


@dataclass(frozen=True)
class Outcome:
    """How an item ends: ``passed``, ``xfailed`` (with the reason) or ``failed`` (with the problems)."""

    status: str
    reason: str = ""
    problems: tuple[str, ...] = ()


def _gone(d: Divergence, what: str) -> str:
    return f"known divergence is gone: {what} ({d.describe()}). Remove or narrow the declaration."


def _same_subject(entry: Differs, f: Finding) -> bool:
    return f.check == entry.check and any(fnmatch.fnmatchcase(f.subject, w) for w in entry.what)


def _differences(
    d: Divergence, findings: Sequence[Finding], against_instead: Sequence[Finding]
) -> tuple[list[Finding], list[str]]:
    """(the findings this divergence excuses, what is wrong with the declaration)."""
    excused: list[Finding] = []
    problems: list[str] = []
    for entry in d.differs:
        hit = [f for f in findings if entry.matches(f)]
        if not hit:
            seen = sorted({f.name for f in findings if f.check == entry.check})
            instead = f" (it found {', '.join(seen)})" if seen else ""
            problems.append(_gone(d, f"declared that {entry.describe()} differs, but it does not{instead}"))
            continue
        if entry.steps is not None:
            for f in hit:
                if f.steps is not None and f.steps != entry.steps:
                    problems.append(
                        f"declared that {entry.describe()} differs, but {f.name} differs at steps "
                        f"{ranges(f.steps)} ({d.describe()}):\n{f.message}"
                    )
        excused += hit
    if d.instead:
        for f in against_instead:
            if f.vs_reference and any(_same_subject(e, f) for e in d.differs):
                problems.append(
                    f"declared that {f.name} follows {d.instead!r} instead ({d.describe()}), but it does not "
                    f"match that either:\n{f.message}"
                )
    return excused, problems


def decide(
    divergences: Sequence[Divergence],
    error: BaseException | None,
    call: str,
    findings: Sequence[Finding],
    against_instead: Mapping[int, Sequence[Finding]] | None = None,
) -> Outcome:
    """Combine what happened (an exception, or findings) with what was declared.

    ``against_instead[i]``: the findings of the checks re-run against the reference of divergence ``i``'s
    ``instead`` behaviour."""
    raising = [d for d in divergences if d.raises]
    if error is not None:
        for d in raising:
            if raised_matches(d, error):
                return Outcome("xfailed", f"known divergence: {d.describe()}")
        said = f"{call} raised {type(error).__name__}: {error}"
        if raising:
            said += "\n  declared instead: " + "; ".join(d.describe() for d in raising)
        return Outcome("failed", problems=(said,))
    problems = [
        _gone(d, f"declared that this item {d.what()}, but {call} returned normally") for d in raising
    ]
    excused: list[Finding] = []
    used: list[Divergence] = []
    for i, d in enumerate(divergences):
        if not d.differs:
            continue
        hit, wrong = _differences(d, findings, (against_instead or {}).get(i, ()))
        excused += hit
        problems += wrong
        used.append(d)
    problems += [f"[{f.check}] {f.message}" for f in findings if not any(f is e for e in excused)]
    if problems:
        return Outcome("failed", problems=tuple(problems))
    if excused:
        reasons = "; ".join(dict.fromkeys(d.describe() for d in used))
        detail = "\n".join(f"[{f.check}] {f.message}" for f in excused)
        return Outcome("xfailed", f"known divergence: {reasons}\n{detail}")
    return Outcome("passed")
