"""What every saved-model format shares: the session it works in, what a load observed, the Keras-model
helpers (a freshly built twin, its weights, the constructor arguments a rebuilt layer kept).

A format writes into a folder it is given and reads back only from there; Keras 3's ``safe_mode`` is left
on. The outputs a loader observes are split as the item's model splits them (output, then the states it
returns), so the round_trip and carry_over checks compare them with the oracle as ``predict`` does.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from conformance.run.probes import Raised
from conformance.run.tensors import to_numpy


@dataclass
class Session:
    """What a format needs from the item: TF and Keras, the item's model, its inputs, how outputs split."""

    tf: Any
    keras: Any
    flavour: str
    model: Any
    feed: Any  # NumPy: one array, or a list (x, states, a mask)
    split: Callable[[Any], tuple[Any, list[Any] | None]]
    steps: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # id(variable) -> the kit's weight name

    def record(self, step: str) -> None:
        self.steps.append(step)


@dataclass
class Loaded:
    """One (format, loader): what the loaded model computed, or why it did not load."""

    format: str
    loader: str
    call: str = ""  # the last call made (what raised, when one did)
    output: np.ndarray | None = None
    states: list[np.ndarray] = field(default_factory=list)
    weights: list[tuple[str, np.ndarray]] | None = None  # the loaded Keras model's, in order
    expected: list[tuple[str, np.ndarray]] | None = None  # what they should be (the saved model's)
    fresh: list[np.ndarray] | None = None  # what the freshly built model held before loading
    lost: list[str] = field(default_factory=list)  # "reset_after: False -> True" per layer argument
    raised: Raised | None = None
    unavailable: str = ""  # this Keras offers no such loader (said, not failed)
    ops: list[str] = field(default_factory=list)  # TFLite: the op set the model was converted to

    @property
    def subject(self) -> str:
        return f"{self.format}.{self.loader}"


class SaveFormat:
    """One format: ``write`` the model into a folder; ``load`` it back with one of its loaders (named by its
    ``registry.SAVE_FORMATS`` entry)."""

    name = ""
    portable = True  # False: nothing is written (config goes from model to model in memory): no carry-over

    def write(self, s: Session, folder: Path) -> None:
        raise NotImplementedError

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        """Fill ``out`` (outputs, weights, lost arguments); raise what the loader raises."""
        raise NotImplementedError


def load(fmt: SaveFormat, loader: str, s: Session, folder: Path) -> Loaded:
    """One loader on one written folder; what it raised is kept with the call that raised it."""
    out = Loaded(fmt.name, loader)
    try:
        fmt.load(loader, s, folder, out)
    except Exception as exc:
        out.raised = Raised(s.steps[-1] if s.steps else f"{fmt.name}.{loader}", exc)
    out.call = s.steps[-1] if s.steps else ""
    return out


# -- helpers the formats share ------------------------------------------------------------------------
def observe(s: Session, out: Loaded, value: Any) -> None:
    """A loaded model's outputs, split as the item's model splits them."""
    output, states = s.split(value)
    out.output = to_numpy(output)
    out.states = [to_numpy(v) for v in states or []]


def call_model(s: Session, model: Any, out: Loaded, shown: str = "loaded") -> None:
    s.record(f"{shown}({'x' if not isinstance(s.feed, list) else '[x, ...]'})")
    observe(s, out, model(s.feed, training=False))
    out.weights = weights_of(model)
    out.expected = weights_of(s.model, s.names)


def weights_of(model: Any, names: dict[int, str] | None = None) -> list[tuple[str, np.ndarray]]:
    """(name, value) per weight, in the model's order: the kit's name (kernel, backward.bias, ...) where
    it is the path's layer's; else Keras's (3: the path, 2: the name)."""
    known = names or {}
    return [
        (known.get(id(w)) or str(getattr(w, "path", None) or w.name).removesuffix(":0"), to_numpy(w))
        for w in model.weights
    ]


def fresh_model(s: Session) -> Any:
    """A freshly built model of the same architecture (Keras's own initializers), to load weights into."""
    s.record("fresh = keras.models.clone_model(model)")
    return s.keras.models.clone_model(s.model)


def natural(name: str) -> tuple[Any, ...]:
    """Sort key that puts input_2 before input_10 (signature arguments and outputs are named so)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def by_name(outputs: Any) -> Any:
    """A signature's output dict as the model's output list (in natural order of the names)."""
    if isinstance(outputs, dict):
        values = [outputs[k] for k in sorted(outputs, key=natural)]
        return values if len(values) > 1 else values[0]
    return outputs


def feed_list(s: Session) -> list[Any]:
    return s.feed if isinstance(s.feed, list) else [s.feed]


# -- constructor arguments that survive a rebuild -----------------------------------------------------
def _layers(layer: Any, prefix: str) -> list[tuple[str, Any]]:
    """The layer and what it wraps (a Bidirectional's two layers, an RNN's cell, a stack's cells)."""
    found = [(prefix, layer)]
    for attr in ("forward_layer", "backward_layer", "cell", "layer"):
        inner = getattr(layer, attr, None)
        if inner is not None and inner is not layer and hasattr(inner, "get_config"):
            found += _layers(inner, f"{prefix}.{attr}")
    for i, cell in enumerate(getattr(layer, "cells", None) or []):
        found += _layers(cell, f"{prefix}.cells[{i}]")
    return found


def _plain(value: Any) -> Any:
    """A comparable form of a constructor argument's value (functions and objects by name)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return type(value).__name__


def arguments(layer: Any) -> dict[str, Any]:
    """Each constructor argument of the layer (and the layers it wraps) that it keeps as an attribute."""
    out: dict[str, Any] = {}
    for where, obj in _layers(layer, layer.name):
        try:
            params = inspect.signature(type(obj).__init__).parameters
        except (TypeError, ValueError):
            continue
        for name in params:
            if name in ("self", "kwargs", "args", "name", "dtype", "cell", "layer", "cells"):
                continue
            try:
                value = getattr(obj, name)
            except Exception:
                continue
            out[f"{where.split('.', 1)[1] + '.' if '.' in where else ''}{name}"] = _plain(value)
    return out


def lost_arguments(original: Any, rebuilt: Any) -> list[str]:
    """Constructor arguments of the original model's layers that the rebuilt model's layers do not keep."""
    lost = []
    for before, after in zip(original.layers, rebuilt.layers):
        kept, now = arguments(before), arguments(after)
        for key, value in kept.items():
            if key in now and now[key] != value:
                lost.append(f"{before.name}.{key}: {value!r} -> {now[key]!r}")
    return lost
