"""The registry of structures: how cells are composed into one layer (one module each).

A case selects one by its case-file key (``stack = N``, ``[bidirectional]``); none selects the single
cell. Adding one: a module with a :class:`Structure` subclass, and one line in ``STRUCTURES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.errors import CaseFileError
from conformance.families.structures.base import Structure, flatten
from conformance.families.structures.bidirectional import MERGE_MODES, Bidirectional
from conformance.families.structures.single import SINGLE, Single
from conformance.families.structures.stacked import Stacked

STRUCTURES: tuple[type[Structure], ...] = (Single, Stacked, Bidirectional)
KEYS = tuple(s.key for s in STRUCTURES if s.key)


def from_case(raw: Mapping[str, Any]) -> Structure:
    """The structure a (merged) case table selects; at most one may be selected."""
    chosen = [s for s in STRUCTURES if s.key and s.key in raw]
    if len(chosen) > 1:
        raise CaseFileError(
            f"say one of {' or '.join(s.key for s in chosen)} (a stack of bidirectional layers is two "
            "layers)",
            key=chosen[0].key,
        )
    return chosen[0].from_case(raw) if chosen else SINGLE


__all__ = [
    "KEYS",
    "MERGE_MODES",
    "SINGLE",
    "STRUCTURES",
    "Bidirectional",
    "Stacked",
    "Structure",
    "flatten",
    "from_case",
]
