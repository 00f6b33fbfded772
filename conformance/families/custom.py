"""A user's cell (``layer = "custom"``): a family read off the built cell, and the one import a case file
can cause."""

from __future__ import annotations

import importlib
import re
from typing import Any

from conformance.families.base import Family

NAME = "custom"


def load_object(spec: str) -> Any:
    """``module:attribute`` → the object. The one place a case file can cause code to be imported."""
    module_name, _, attribute = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def placeholder(cell_spec: str, layer_spec: str | None) -> Family:
    """Before the cell is built: its names only (states and weights come from :func:`from_cell`)."""
    return Family(NAME, cell_spec, layer_spec, ())


def from_cell(cell_spec: str, layer_spec: str | None, cell: Any) -> Family:
    """The family of a user's built cell: its state sizes (``state_size``) and its trainable weights."""
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    sizes = tuple(int(getattr(s, "as_list", lambda s=s: [s])()[-1]) for s in sizes)
    names: list[str] = []
    for variable in cell.trainable_weights:
        short = re.sub(r":\d+$", "", variable.name).rsplit("/", 1)[-1]
        names.append(short if short not in names else f"{short}_{len(names)}")
    weights = tuple((n, tuple(int(d) for d in v.shape)) for n, v in zip(names, cell.trainable_weights))
    state_names = tuple(f"s{i}" for i in range(len(sizes)))  # a custom cell names no states
    output = getattr(cell, "output_size", None)
    output_units = int(output) if output is not None else sizes[0]  # RNN's own fallback: the first state
    return Family(NAME, cell_spec, layer_spec, state_names, None, sizes, weights, output_units)
