"""The three ways people drive a recurrent cell, each run once per item with the case's weights.

* ``manual_loop``: a Python loop calling ``Cell(x_t, states)``, states fed back by hand;
* ``rnn_wrapper``: ``keras.layers.RNN(Cell(...))``;
* ``fused_layer``: ``keras.layers.LSTM(...)``, ``GRU``, ``SimpleRNN`` (cuDNN on GPU when eligible).

A :class:`Runner` builds its layer once, injects the case's weights, and answers the calls the checks
need, in the item's execution mode (eager, inside ``tf.function``, or compiled with XLA). Every Keras call
it makes is written to ``steps`` in the spelling a user would write, so a failure can say exactly which
call raised or returned the wrong thing.
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


def returned(value: Any, *, symbolic: bool = False) -> Returned:
    """What a call returned; ``symbolic`` (inside a tf.function trace) keeps shapes, not values."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    container = type(value).__name__ if isinstance(value, (list, tuple)) else "tensor"
    arrays = [np.zeros(tuple(v.shape)) if symbolic else to_numpy(v) for v in items]
    return Returned(container, arrays, [_dtype_name(v) for v in items], items)


MODE_SPELLING = {
    "eager": "",
    "function": "tf.function",
    "xla": "tf.function(jit_compile=True)",
}


def _fmt_kwargs(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


class Runner:
    """One path for one item: builds once, then answers ``call`` and ``probe`` as often as checks need."""

    name = ""

    def __init__(self, env: TFEnv, case: Case, dtype: str, mode: str = "eager") -> None:
        self.env, self.case, self.dtype, self.mode = env, case, dtype, mode
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
        self._compiled: dict[str, Any] = {}

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

    def mask_tensor(self, mask: np.ndarray | None) -> Any:
        """The case's mask as the layer gets it: a bool tensor for mask=, None where Masking makes it."""
        if mask is None or (self.case.mask is not None and self.case.mask.via == "masking_layer"):
            return None
        return self.tf.constant(mask)

    def in_mode(self, name: str, function: Any = None) -> Any:
        """``function`` (default ``self.<name>``) as the item's mode runs it: as is, in a tf.function, or
        XLA-compiled."""
        method = function or getattr(self, name)
        if self.mode == "eager":
            return method
        self.prepare(name)  # layers and variables are made eagerly: a traced function must not create them
        if name not in self._compiled:
            self.record(f"{name} = {MODE_SPELLING[self.mode]}({name})  # the calls below run compiled")
            self._compiled[name] = self.tf.function(method, jit_compile=self.mode == "xla")
        return self._compiled[name]

    def _class(self, spec: str) -> tuple[Any, str]:
        """A keras.layers class by name, or a user's class by ``module:Class`` (imported only now)."""
        if ":" in spec:
            return load_object(spec), spec.replace(":", ".")
        return getattr(self.keras.layers, spec), f"keras.layers.{spec}"

    def _new_cell(self) -> Any:
        if self.case.custom is not None:
            kwargs = {**self.case.custom.args, "dtype": self.dtype}
        else:
            kwargs = {**self.case.options.cell_kwargs(self.family.cell_options), "dtype": self.dtype}
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

    def prepare(self, name: str) -> None:
        """Make what ``self.<name>`` needs besides the built layer (the layer paths' probe layer)."""

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        """The call under test, configured as the case says (return_sequences, return_state, ...)."""
        raise NotImplementedError

    def probe(self, x: Any, initial_state: list[Any] | None, mask: Any = None) -> tuple[Any, list[Any]]:
        """(output sequence, final states) with the same weights, whatever the case's options."""
        raise NotImplementedError

    def kernel(self, device: str) -> str:
        raise NotImplementedError

    # A stateful layer (layer paths; a case with stateful = true has no manual loop).
    def reset_states(self) -> None:
        raise NotImplementedError

    def carry(self, x: Any, mask: Any) -> Any:
        raise NotImplementedError

    def held_states(self) -> list[np.ndarray]:
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

    def _loop(
        self, x: Any, initial_state: list[Any] | None, mask: Any, training: bool = False
    ) -> tuple[list[Any], list[Any]]:
        """The user's loop: go_backwards by iterating backwards, masking by ``tf.where`` as Keras does."""
        tf, opts = self.tf, self.case.options
        states = initial_state
        if states is None:  # a loop has no "no state": start it from zeros in the dtype the cell computes in
            shapes = self.family.state_shapes(int(x.shape[0]), self.case.units)
            states = [tf.zeros(shape, dtype=self.compute_dtype) for shape in shapes]
        if self.case.mask is not None and self.case.mask.via == "masking_layer":
            self.record("mask = keras.layers.Masking(0.0).compute_mask(x)")
            mask = self.keras.layers.Masking(0.0).compute_mask(x)
        order = range(x.shape[1] - 1, -1, -1) if opts.go_backwards else range(x.shape[1])
        kwargs = {"training": True} if training else {}
        if training and hasattr(
            self.cell, "reset_dropout_mask"
        ):  # a layer does this at each call; a loop by hand
            self.record("cell.reset_dropout_mask(); cell.reset_recurrent_dropout_mask()")
            self.cell.reset_dropout_mask()
            self.cell.reset_recurrent_dropout_mask()
        loop = "reversed(range(timesteps))" if opts.go_backwards else "range(timesteps)"
        train = ", training=True" if training else ""
        self.record(f"for t in {loop}: output, states = cell(x[:, t, :], states{train})")
        if mask is not None:
            keep = "zeros" if opts.zero_output_for_mask else "the previous output"
            self.record(f"  at masked steps (by hand, as Keras does): states kept, output = {keep}")
        outputs: list[Any] = []
        for t in order:
            result = self.cell(x[:, t, :], states, **kwargs)
            if self.step_returned is None:
                new = result[1] if isinstance(result, (list, tuple)) else result
                self.step_returned = returned(new, symbolic=not tf.executing_eagerly())
            output, new_states = result
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            if mask is not None:
                m = mask[:, t : t + 1]
                prev = outputs[-1] if outputs and not opts.zero_output_for_mask else tf.zeros_like(output)
                output = tf.where(m, output, prev)
                new_states = [tf.where(m, n, s) for n, s in zip(new_states, states)]
            states = new_states
            outputs.append(output)
        return outputs, states

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        outputs, states = self._loop(x, initial_state, mask, training)
        output = self.tf.stack(outputs, axis=1) if self.case.options.return_sequences else outputs[-1]
        return [output, *states]

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        return value[0], list(value[1:])

    def probe(self, x: Any, initial_state: list[Any] | None, mask: Any = None) -> tuple[Any, list[Any]]:
        outputs, states = self._loop(x, initial_state, mask)
        return self.tf.stack(outputs, axis=1), states

    def layer_for_initial_state(self) -> Any:
        raise TypeError(
            "the manual loop has no layer: get_initial_state on = 'layer' needs rnn_wrapper or fused_layer"
        )

    def kernel(self, device: str) -> str:
        return f"python loop over {self.family.cell_class}.call" + _traced(self.mode)


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

    def _invoke(
        self,
        layer: Any,
        x: Any,
        initial_state: list[Any] | None,
        mask: Any,
        label: str,
        training: bool = False,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        shown = ["x"]
        if self.case.mask is not None and self.case.mask.via == "masking_layer":
            x = self.keras.layers.Masking(0.0)(x)
            shown = ["keras.layers.Masking(0.0)(x)"]
        elif mask is not None:
            kwargs["mask"] = mask
            shown.append("mask=mask")
        if initial_state is not None:
            kwargs["initial_state"] = initial_state
            shown.append(f"initial_state=[{', '.join(self.family.state_names)}]")
        if training:
            kwargs["training"] = True
            shown.append("training=True")
        self.record(f"{label}({', '.join(shown)})")
        return layer(x, **kwargs)

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        return self._invoke(self.layer, x, initial_state, mask, "layer", training)

    def prepare(self, name: str) -> None:
        if name == "probe" and self._probe_layer is None:
            kwargs = {**self.case.options.layer_kwargs(), "return_sequences": True, "return_state": True}
            kwargs.pop("stateful", None)  # the probes compare runs from given states, each on its own
            self._probe_layer = self._new_layer(**kwargs)
            self._probe_layer.build((self.case.batch, self.case.timesteps, self.case.features))
            self.inject_weights(self._probe_layer.cell)

    def probe(self, x: Any, initial_state: list[Any] | None, mask: Any = None) -> tuple[Any, list[Any]]:
        self.prepare("probe")
        result = list(self._invoke(self._probe_layer, x, initial_state, mask, "probe"))
        return result[0], result[1:]

    def layer_for_initial_state(self) -> Any:
        return self.layer

    # -- a stateful layer: calls that carry the state, and the reset ---------------------------------
    def reset_states(self) -> None:
        self.record("layer.reset_states()")
        self.layer.reset_states()

    def carry(self, x: Any, mask: Any) -> Any:
        """A stateful call: no initial_state, the layer's own carried state."""
        return self._invoke(self.layer, x, None, mask, "layer")

    def held_states(self) -> list[np.ndarray]:
        self.record("[s.numpy() for s in layer.states]")
        return [to_numpy(s) for s in self.layer.states]


class RNNWrapper(_LayerRunner):
    name = "rnn_wrapper"

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        cell = self._new_cell()
        kwargs = {**layer_kwargs, "dtype": self.dtype}
        self.record(f"layer = keras.layers.RNN(cell, {_fmt_kwargs(kwargs)})")
        return self.keras.layers.RNN(cell, **kwargs)

    def kernel(self, device: str) -> str:
        return GENERIC + _traced(self.mode)


class FusedLayer(_LayerRunner):
    name = "fused_layer"

    def _new_layer(self, **layer_kwargs: Any) -> Any:
        if self.case.custom is not None:
            own = dict(self.case.custom.args)
        else:
            own = self.case.options.cell_kwargs(self.family.cell_options)
        kwargs = {**own, **layer_kwargs, "dtype": self.dtype}
        cls, shown = self._class(str(self.family.layer_class))
        self.record(f"layer = {shown}({self.case.units}, {_fmt_kwargs(kwargs)})")
        return cls(self.case.units, **kwargs)

    def kernel(self, device: str) -> str:
        """Which kernel ran, inferred from the layer's own eligibility flags and the device.

        Keras 3 tries cuDNN only on GPU (``use_cudnn``, LSTM and GRU) and otherwise runs the generic loop;
        Keras 2 and tf-keras run their own fused CPU kernel (standard_lstm, standard_gru) when the layer is
        cuDNN-eligible (``_could_use_gpu_kernel``), the generic loop if not. SimpleRNN has neither.
        """
        if self.case.custom is not None:
            return f"custom layer {self.family.layer_class}"
        fused = self.family.keras2_kernel
        if self.env.flavour == "keras3":
            eligible = (
                fused is not None
                and getattr(self.layer, "use_cudnn", "auto") in ("auto", True)
                and self._cudnn_options()
            )
            return "cudnn" if device == "gpu" and eligible else GENERIC + _traced(self.mode)
        if fused is None or not getattr(self.layer, "_could_use_gpu_kernel", False):
            return GENERIC + _traced(self.mode)
        return "cudnn" if device == "gpu" else f"{fused} (Keras 2 fused CPU kernel)" + _traced(self.mode)

    def _cudnn_options(self) -> bool:
        """Keras 3's own rule (``lstm.py``/``gru.py`` ``cudnn_ok``): defaults that cuDNN implements."""
        o = self.case.options
        return (
            o.activation == "tanh"
            and o.recurrent_activation == "sigmoid"
            and o.use_bias
            and not o.unroll
            and not o.recurrent_dropout
            and (self.family.name != "gru" or o.reset_after)
        )


GENERIC = "generic RNN loop (backend rnn over the cell)"


def _traced(mode: str) -> str:
    return "" if mode == "eager" else f", in {MODE_SPELLING[mode]}"


RUNNERS: dict[str, type[Runner]] = {r.name: r for r in (ManualLoop, RNNWrapper, FusedLayer)}
