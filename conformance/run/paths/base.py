"""What the three paths share: one :class:`Runner` per item builds its layer once, injects the case's
weights, and answers the calls the checks need, in the item's execution mode.

Every Keras call a runner makes is written to its :class:`~conformance.run.calllog.CallLog` in the
spelling a user would write, so a failure can say exactly which call raised or returned the wrong thing.
How cells compose (a stack, Bidirectional) is the structure's business
(:mod:`conformance.families.structures`); a runner asks it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from conformance import registry
from conformance.casefile.case import Case
from conformance.families import FAMILIES, custom
from conformance.families.structures.base import fmt_kwargs
from conformance.run import modes
from conformance.run.calllog import CallLog
from conformance.run.data import DTYPE_ROLES, CaseData
from conformance.run.tensors import feed, feed_all
from conformance.run.tfenv import TFEnv


class Runner:
    """One path for one item: builds once, then answers ``call`` and ``probe`` as often as checks need."""

    name = ""

    def __init__(
        self, env: TFEnv, case: Case, dtype: str, mode: str = "eager", log: CallLog | None = None
    ) -> None:
        self.env, self.case, self.dtype, self.mode = env, case, dtype, mode
        self.tf, self.keras = env.tf, env.keras
        self.structure = case.structure
        # A custom cell's family is read off the built cell (see build); the data follows the family.
        if case.custom is not None:
            self.family = custom.placeholder(case.custom.cell, case.custom.layer)
        else:
            self.base = FAMILIES[case.layer]
            self.family = self.structure.compose(self.base, case.features, case.units, case.options)
        self.data: CaseData
        self.feed_dtype, self.variable_dtype, self.compute_dtype = DTYPE_ROLES[dtype]
        self.log = log if log is not None else CallLog()
        self.cell: Any = None
        self.owner: Any = None  # whose trainable_weights are the case's weights: the cell, or the layer
        self._compiled: dict[str, Any] = {}

    # -- the call log -------------------------------------------------------------------------------
    def record(self, step: str) -> None:
        self.log(step)

    @property
    def steps(self) -> list[str]:
        return self.log.steps

    @property
    def last_call(self) -> str:
        return self.log.last

    # -- tensors ------------------------------------------------------------------------------------
    def tensor(self, values: np.ndarray) -> Any:
        return feed(self.tf, values, self.feed_dtype)

    def states(self, arrays: Sequence[np.ndarray]) -> list[Any]:
        return feed_all(self.tf, arrays, self.feed_dtype)

    def mask_tensor(self, mask: np.ndarray | None) -> Any:
        """The case's mask as the layer gets it: a bool tensor for mask=, None where Masking makes it."""
        if mask is None or (self.case.mask is not None and self.case.mask.via == "masking_layer"):
            return None
        return self.tf.constant(mask)

    def concat(self, parts: list[Any]) -> Any:
        return self.tf.concat(parts, axis=-1)

    # -- modes --------------------------------------------------------------------------------------
    def in_mode(self, name: str, function: Callable[..., Any] | None = None) -> Callable[..., Any]:
        """``function`` (default ``self.<name>``) as the item's mode runs it: as is, in a tf.function, or
        XLA-compiled. Layers and variables are made eagerly first: a traced function must not create them."""
        method = function or getattr(self, name)
        if not modes.spelled(self.mode):
            return method  # type: ignore[no-any-return]
        self.prepare(name)
        if name not in self._compiled:
            self.record(f"{name} = {modes.spelled(self.mode)}({name})  # the calls below run compiled")
            self._compiled[name] = modes.compile_function(self.tf, method, self.mode)
        return self._compiled[name]  # type: ignore[no-any-return]

    # -- building -----------------------------------------------------------------------------------
    def keras_class(self, spec: str) -> tuple[Any, str]:
        """A keras.layers class by name, or a user's class by ``module:Class`` (imported only now)."""
        if ":" in spec:
            return custom.load_object(spec), spec.replace(":", ".")
        return getattr(self.keras.layers, spec), f"keras.layers.{spec}"

    def new_cell(self) -> Any:
        if self.case.custom is not None:
            kwargs = {**self.case.custom.args, "dtype": self.dtype}
        else:
            kwargs = {**self.own_kwargs(), "dtype": self.dtype}
        cls, shown = self.keras_class(self.family.cell_class)
        self.record(f"cell = {shown}({self.case.units}, {fmt_kwargs(kwargs)})")
        return cls(self.case.units, **kwargs)

    def own_kwargs(self) -> dict[str, Any]:
        """The family's constructor arguments from the case; a bfloat16 item is built with an initializer
        that has a bfloat16 kernel (the case's weights replace what it makes; Keras's orthogonal default
        calls QR, which has none — its own case says so)."""
        kwargs = self.case.options.cell_kwargs(self.family.cell_options)
        if self.dtype == "bfloat16":
            kwargs.setdefault("recurrent_initializer", "glorot_uniform")
        return kwargs

    def resolve_family(self, cell: Any) -> None:
        """For a custom cell, read its states and weights off the built cell (built-ins are known)."""
        if self.case.custom is not None and not self.family.state_names:
            self.family = custom.from_cell(self.case.custom.cell, self.case.custom.layer, cell)

    # -- weights ------------------------------------------------------------------------------------
    def variables(self, owner: Any) -> dict[str, Any]:
        """The weights by name: a built-in cell's by Keras attribute name; a composed layer's or a custom
        cell's in ``trainable_weights`` order (Keras keeps a stack's cells bottom-up, Bidirectional's
        forward layer first)."""
        if self.family.weights is not None:
            return dict(zip((n for n, _ in self.family.weights), owner.trainable_weights, strict=True))
        return {name: getattr(owner, name) for name in self.data.weights}

    def inject_weights(self, owner: Any) -> None:
        """Assign the case's weights to the variables (built with their own initializers first)."""
        for name, variable in self.variables(owner).items():
            values = self.data.weights[name]
            shown = name if self.structure.named_per_slot else f"cell.{name}"  # forward.kernel, cells[1].bias
            self.record(f"{shown}.assign(<case weights {values.shape}>)")
            variable.assign(self.tf.cast(self.tf.constant(values), variable.dtype))

    def weight_variables(self) -> dict[str, Any]:
        return self.variables(self.owner)

    def nested(self, states: list[Any] | None) -> list[Any] | None:
        """Flat states → as a Keras call takes them (per cell for a stack)."""
        if states is None:
            return None
        return self.structure.nest(states, self.base.n_states if self.case.custom is None else len(states))

    # -- get_initial_state --------------------------------------------------------------------------
    def get_initial_state(self, x: Any) -> Any:
        """Call get_initial_state exactly as the case spells it; placeholders filled in."""
        spec = self.case.initial_state
        fill = {"{batch}": self.case.batch, "{dtype}": self.compute_dtype, "{inputs}": x}
        kwargs = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in spec.args.items()}
        shown = {k: ("x" if v is x else v) for k, v in kwargs.items()}
        owner = self.cell if spec.on == "cell" else self.layer_for_initial_state()
        self.record(f"{'cell' if spec.on == 'cell' else 'layer'}.get_initial_state({fmt_kwargs(shown)})")
        return owner.get_initial_state(**kwargs)

    def layer_for_initial_state(self) -> Any:
        raise NotImplementedError

    # -- what each path provides --------------------------------------------------------------------
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

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        """(output, flat states or None) from what ``call`` returned."""
        return self.structure.split(value, self.case.options.return_state, self.concat)  # type: ignore[no-any-return]

    def twin(self, path: str | None = None, mode: str | None = None) -> Runner:
        """A fresh runner of this (or another) path over the same case, built, with the same numbers: the
        dropout check's freshly seeded layers, a custom cell's manual-loop reference."""
        cls = registry.runner(path or self.name)
        other: Runner = cls(self.env, self.case, self.dtype, mode or self.mode)
        other.build()
        other.data = self.data
        other.inject_weights(other.owner)
        return other
