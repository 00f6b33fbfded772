"""The registry of layer families, one module each, and how a case's layer becomes one family.

Adding a family: a module defining ``FAMILY`` (and an oracle module under :mod:`conformance.oracle`),
and one line in ``FAMILIES``. The case-file schema, the markers and the docs test read this registry.
"""

from __future__ import annotations

from conformance.errors import CaseFileError
from conformance.families import custom, gru, lstm, simple_rnn
from conformance.families.base import Family

FAMILIES: dict[str, Family] = {f.name: f for f in (lstm.FAMILY, gru.FAMILY, simple_rnn.FAMILY)}
#: Every value of a case's ``layer`` key: the built-in families and a user's cell.
LAYERS: tuple[str, ...] = (*FAMILIES, custom.NAME)


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise CaseFileError(f"unknown layer {name!r}; known: {', '.join(FAMILIES)}", key="layer") from None


__all__ = ["FAMILIES", "LAYERS", "Family", "family"]
