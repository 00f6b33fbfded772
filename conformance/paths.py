"""The three ways people drive a recurrent cell, each run once per item with the case's weights.

* ``manual_loop``: a Python loop calling ``Cell(x_t, states)``, states fed back by hand;
* ``rnn_wrapper``: ``keras.layers.RNN(Cell(...))``;
* ``fused_layer``: ``keras.layers.LSTM(...)`` (cuDNN on GPU when eligible).

A :class:`Runner` builds its layer once, injects the case's weights, and answers the calls the checks
need. Every Keras call it makes is written to ``steps`` in the spelling a user would write, so a failure
can say exactly which call raised or returned the wrong thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.case import Case
from conformance.data import DTYPE_ROLES, CaseData
from conformance.families import FAMILIES, Family, custom, load_object
from conformance.tfenv import TFEnv


@dataclass
class Returned:
    """What one call returned, converted to NumPy, with the container and dtypes as Keras gave them."""

    container: str  # "tensor", "list", "tuple"
    arrays: list[np.ndarray]
    dtypes: list[str]
    tensors: list[Any] = field(repr=False, default_factory=list)


def _dtype_name(t: Any) -> str:
    d = getattr(t, "dtype", None)
    return getattr(d, "name", str(d))


def to_numpy(t: Any) -> np.ndarray:
    """float64 NumPy copy of a tensor (TF's bfloat16 arrives as an ml_dtypes array, which converts too)."""
    return np.asarray(t).astype(np.float64)


def returned(value: Any) -> Returned:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    container = type(value).__name__ if isinstance(value, (list, tuple)) else "tensor"
    return Returned(container, [to_numpy(v) for v in items], [_dtype_name(v) for v in items], items)


def _fmt_kwargs(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


class Runner:
    """One path for one item: builds once, then answers ``call`` and ``probe`` as often as checks need."""

    name = ""

    def __init__(self, env: TFEnv, case: Case, dtype: str) -> None:
        self.env, self.case, self.dtype = env, case, dtype
        self.tf, self.keras = env.tf, env.keras
        # A custom cell's family is read off the built cell (see build); the data follows the family.
        if case.custom is not None:
            self.family = Family("custom", case.custom.cell, case.custom.layer, ())
        else:
            self.family = FAMILIES[case.layer]
        self.data: CaseData
        self.feed_dtype, self.variable_dtype, self.compute_dtype = DTYPE_ROLES[dtype]
        self.steps: list[str] = []
        self.cell: Any = None

    # -- helpers shared by the paths -------------------------------------------------------------
    def record(self, step: str) -> None:
        if step not in self.steps:  # the checks repeat calls; a report lists each distinct call once
            self.steps.append(step)

    @property
    def last_call(self) -> str:
        return self.steps[-1] if self.steps else "(before any call)"

    def tensor(self, values: np.ndarray) -> Any:
        return self.tf.constant(
            np.asarray(values, dtype=np.float32 if self.feed_dtype == "bfloat16" else self.feed_dtype),
            dtype=self.feed_dtype,
        )

    def states(self, arrays: Sequence[np.ndarray]) -> list[Any]:
        return [self.tensor(a) for a in arrays]

    def _class(self, spec: str) -> tuple[Any, str]:
        """A keras.layers class by name, or a user's class by ``module:Class`` (imported only now)."""
        if ":" in spec:
            return load_object(spec), spec.replace(":", ".")
        return getattr(self.keras.layers, spec), f"keras.layers.{spec}"

    def _new_cell(self) -> Any:
        if self.case.custom is not None:
            kwargs = {**self.case.custom.args, "dtype": self.dtype}
        else:
            kwargs = {**self.case.options.cell_kwargs(), "dtype": self.dtype}
        cls, shown = self._class(self.family.cell_class)
        self.record(f"cell = {shown}({self.case.units}, {_fmt_kwargs(kwargs)})")
        return cls(self.case.units, **kwargs)

    def resolve_family(self, cell: Any) -> None:
        """For a custom cell, read its states and weights off the built cell (built-ins are known)."""
        if self.case.custom is not None and not self.family.state_names:
            self.family = custom(self.case.custom.cell, self.case.custom.layer, cell)

    def variables(self, cell: Any) -> dict[str, Any]:
        """The cell's weights by name: Keras attribute names for built-ins, read-off names for custom."""
        if self.family.weights is not None:
            return dict(zip((n for n, _ in self.family.weights), cell.trainable_weights))
        return {name: getattr(cell, name) for name in self.data.weights}

    def inject_weights(self, cell: Any) -> None:
        """Assign the case's weights to the cell's variables (built with their own initializers first)."""
        for name, variable in self.variables(cell).items():
            values = self.data.weights[name]
            self.record(f"cell.{name}.assign(<case weights {values.shape}>)")
            variable.assign(self.tf.cast(self.tf.constant(values), variable.dtype))

    def weight_variables(self) -> dict[str, Any]:
        return self.variables(self.cell)

    def get_initial_state(self, x: Any) -> Any:
        """Call get_initial_state exactly as the case spells it; placeholders filled in."""
        spec = self.case.initial_state
        fill = {"{batch}": self.case.batch, "{dtype}": self.compute_dtype, "{inputs}": x}
        kwargs = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in spec.args.items()}
        shown = {k: ("x" if v is x else v) for k, v in kwargs.items()}
        owner = self.cell if spec.on == "cell" else self.layer_for_initial_state()
        self.record(f"{'cell' if spec.on == 'cell' else 'layer'}.get_initial_state({_fmt_kwargs(shown)})")
        return owner.get_initial_state(**kwargs)

    def layer_for_initial_state(self) -> Any:
        raise NotImplementedError

    # -- what each path provides -----------------------------------------------------------------
    def build(self) -> None:
        raise NotImplementedError

    def call(self, x: Any, initial_state: list[Any] | None) -> Any:
        """The call under test, configured as the case says (return_sequences, return_state)."""
        raise NotImplementedError

    def probe(self, x: Any, initial_state: list[Any] | None) -> tuple[Any, list[Any]]:
        """(output sequence, final states) with the same weights, whatever the case's options."""
        raise NotImplementedError

    def kernel(self, device: str) -> str:
        raise NotImplementedError

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        """(output, states or None) from what ``call`` returned."""
        if self.case.options.return_state and isinstance(value, (list, tuple)):
            return value[0], list(value[1:])
        return value, None  # a missing state list is the shape check's finding


class ManualLoop(Runner):
    """A Python loop over the cell: the seed's Example 1."""

    name = "manual_loop"

    def build(self) -> None:
        self.cell = self._new_cell()
        self.record(f"cell.build(({self.case.batch}, {self.case.features}))")
        self.cell.build((self.case.batch, self.case.features))
        self.resolve_family(self.cell)
        self.step_returned: Returned | None = None

    def _loop(self, x: Any, initial_state: list[Any] | None) -> tuple[list[Any], list[Any]]:
        states = initial_state
        if states is None:  # a loop has no "no state": start it from zeros in the dtype the cell computes in
            shapes = self.family.state_shapes(int(x.shape[0]), self.case.units)
            states = [self.tf.zeros(shape, dtype=self.compute_dtype) for shape in shapes]
        outputs = []
        self.record("for t in range(timesteps): output, states = cell(x[:, t, :], states)")
        for t in range(x.shape[1]):
            result = self.cell(x[:, t, :], states)
            if self.step_returned is None:
                self.step_returned = (
                    returned(result[1]) if isinstance(result, (list, tuple)) else returned(result)
                )
            output, states = result
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            outputs.append(output)
        return outputs, states

    def call(self, x: Any, initial_state: list[Any] | None) -> Any:
        outputs, states = self._loop(x, initial_state)
        output = self.tf.stack(outputs, axis=1) if self.case.options.return_sequences else outputs[-1]
        return [output, *states]

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        return value[0], list(value[1:])

    def probe(self, x: Any, initial_state: list[Any] | None) -> tuple[Any, list[Any]]:
        outputs, states = self._loop(x, initial_state)
        return self.tf.stack(outputs, axis=1), states

    def layer_for_initial_state(self) -> Any:
        raise TypeError(
            "the manual loop has no layer: get_initial_state on = 'layer' needs rnn_wrapper or fused_layer"
        )

    def kernel(self, device: str) -> str:
        return f"python loop over {self.family.cell_class}.call"


class _LayerRunner(Runner):
    """The two layer paths share building, calling and the probe layer."""

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        raise NotImplementedError

    def build(self) -> None:
        self.layer = self._new_layer(**self.case.options.layer_kwargs())
        shape = (self.case.batch, self.case.timesteps, self.case.features)
        self.record(f"layer.build({shape})")
        self.layer.build(shape)
        self.cell = self.layer.cell
        self.resolve_family(self.cell)
        self._probe_layer: Any = None

    def _invoke(self, layer: Any, x: Any, initial_state: list[Any] | None, label: str) -> Any:
        if initial_state is None:
            self.record(f"{label}(x)")
            return layer(x)
        self.record(f"{label}(x, initial_state=[{', '.join(self.family.state_names)}])")
        return layer(x, initial_state=initial_state)

    def call(self, x: Any, initial_state: list[Any] | None) -> Any:
        return self._invoke(self.layer, x, initial_state, "layer")

    def probe(self, x: Any, initial_state: list[Any] | None) -> tuple[Any, list[Any]]:
        if self._probe_layer is None:
            self._probe_layer = self._new_layer(return_sequences=True, return_state=True)
            self._probe_layer.build((self.case.batch, self.case.timesteps, self.case.features))
            self.inject_weights(self._probe_layer.cell)
        result = list(self._invoke(self._probe_layer, x, initial_state, "probe"))
        return result[0], result[1:]

    def layer_for_initial_state(self) -> Any:
        return self.layer


class RNNWrapper(_LayerRunner):
    name = "rnn_wrapper"

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        cell = self._new_cell()
        kwargs = {**layer_kwargs, "dtype": self.dtype}
        self.record(f"layer = keras.layers.RNN(cell, {_fmt_kwargs(kwargs)})")
        return self.keras.layers.RNN(cell, **kwargs)

    def kernel(self, device: str) -> str:
        return "generic RNN loop (backend rnn over the cell)"


class FusedLayer(_LayerRunner):
    name = "fused_layer"

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        own = self.case.custom.args if self.case.custom is not None else self.case.options.cell_kwargs()
        kwargs = {**own, **layer_kwargs, "dtype": self.dtype}
        cls, shown = self._class(str(self.family.layer_class))
        self.record(f"layer = {shown}({self.case.units}, {_fmt_kwargs(kwargs)})")
        return cls(self.case.units, **kwargs)

    def kernel(self, device: str) -> str:
        """Which kernel ran, inferred from the layer's own eligibility flags and the device.

        Keras 3 tries cuDNN only on GPU (``use_cudnn``) and otherwise runs the generic loop; Keras 2 and
        tf-keras run their own fused CPU kernel (standard_lstm) when the layer is cuDNN-eligible, the
        generic loop if not.
        """
        generic = "generic RNN loop (backend rnn over the cell)"
        if self.case.custom is not None:
            return f"custom layer {self.family.layer_class}"
        if self.env.flavour == "keras3":
            eligible = getattr(self.layer, "use_cudnn", "auto") in ("auto", True) and self._cudnn_options()
            return "cudnn" if device == "gpu" and eligible else generic
        eligible = bool(getattr(self.layer, "_could_use_gpu_kernel", False))
        if not eligible:
            return generic
        return "cudnn" if device == "gpu" else f"standard_{self.case.layer} (Keras 2 fused CPU kernel)"

    def _cudnn_options(self) -> bool:
        o = self.case.options
        return o.activation == "tanh" and o.recurrent_activation == "sigmoid" and o.use_bias


RUNNERS: dict[str, type[Runner]] = {r.name: r for r in (ManualLoop, RNNWrapper, FusedLayer)}
