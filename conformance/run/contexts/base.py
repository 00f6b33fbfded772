"""The ``call`` context — the path's layer called alone, on tensors — and what every context provides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from conformance.run.paths.base import Runner
    from conformance.run.probes import Raised
    from conformance.run.saving.base import Loaded, Session


@dataclass
class ModelRun:
    """What a model context observed besides the main call (the model checks judge it)."""

    symbolic: list[tuple[int | None, ...]] | None = None  # the model's output shapes, None batch and time
    computed: list[tuple[int | None, ...]] | None = None  # layer.compute_output_shape for the same input
    eager: list[tuple[int, ...]] = field(default_factory=list)  # what model(x) returned
    predicted: tuple[np.ndarray, list[np.ndarray]] | None = None  # model.predict: output, states
    trained: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # how -> weight -> w_after - w
    learning_rate: float = 0.1
    jit_compile: dict[str, str] = field(default_factory=dict)  # how -> what Keras compiled the step with
    not_trained: str = ""  # why the training step was not taken (it is not comparable with the oracle)
    errors: dict[str, Raised] = field(default_factory=dict)  # "symbolic" | "predict" | "train" -> raised
    saved: list[Loaded] = field(default_factory=list)  # the round trips, one per (format, loader)
    not_saved: str = ""  # why the model is not saved here (the kit's own loop layer, a custom cell)
    session: Session | None = None  # the model and its inputs, for carry-over (write here, load there)


class Context:
    """The path's layer called alone: what every item did before contexts existed."""

    name = "call"
    is_model = False

    def __init__(self, runner: Runner) -> None:
        self.r = runner

    # -- what the run asks of a context ------------------------------------------------------------
    def build(self) -> None:
        """Make what the context adds around the built, weighted path (nothing, here)."""

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        return self.r.call(x, initial_state, mask, training)

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        return self.r.split(value)

    def observe(self, x: Any, initial_state: list[Any] | None, mask: Any) -> ModelRun | None:
        """The context's own observations (a model's symbolic shapes, predict, a training step)."""
        return None

    # -- the stateful check's calls ------------------------------------------------------------------
    def reset_states(self) -> None:
        self.r.reset_states()  # type: ignore[attr-defined]

    def carry(self, x: Any, mask: Any) -> Any:
        return self.r.carry(x, mask)  # type: ignore[attr-defined]

    def held_states(self) -> list[np.ndarray]:
        return self.r.held_states()  # type: ignore[attr-defined, no-any-return]

    def in_mode(self, name: str) -> Callable[..., Any]:
        return self.r.in_mode(name, getattr(self, name))

    # -- the runner's, for the probes that drive a context --------------------------------------------
    @property
    def tf(self) -> Any:
        return self.r.tf

    @property
    def case(self) -> Any:
        return self.r.case

    @property
    def last_call(self) -> str:
        return self.r.last_call

    def record(self, step: str) -> None:
        self.r.record(step)
