"""How cells are composed into one layer: a single cell, a stack of cells, or a Bidirectional pair.

A composed layer is described to the rest of the kit as a :class:`~conformance.families.Family` whose
states and weights are the slots' own, prefixed (``cells[1].h``, ``backward.kernel``), flattened in the
order Keras keeps them: the stack's cells bottom-up, Bidirectional's forward layer then its backward one.
The kit holds states flat and nests them only where a Keras call wants them nested.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance.case import Options, Structure
from conformance.families import Family


def compose(structure: Structure, base: Family, features: int, units: int, options: Options) -> Family:
    """The composed layer as one family: prefixed states and weights, its output width."""
    if structure.kind == "single":
        return base
    weights: list[tuple[str, tuple[int, ...]]] = []
    for i, prefix in enumerate(structure.slots):
        f = units if structure.kind == "stacked" and i > 0 else features
        weights += [(prefix + n, s) for n, s in base.weight_shapes(f, units, options).items()]
    states = tuple(p + n for p in structure.slots for n in base.state_names)
    out = (
        2 * units
        if structure.kind == "bidirectional" and structure.merge_mode in ("concat", "none")
        else units
    )
    return replace(
        base,
        state_names=states,
        state_sizes=(units,) * len(states),
        weights=tuple(weights),
        output_units=out,
        oracle_module=None,  # composed by conformance.reference from the base family's oracle
    )


def flatten(value: Any) -> list[Any]:
    """Nested lists/tuples of tensors → a flat list (Keras nests a stack's states per cell)."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flatten(item)]
    return [value]
