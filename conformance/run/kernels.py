"""Which kernel the main call ran, observed rather than inferred from the layer's flags.

While the main call runs, the backend functions that choose a kernel are wrapped (Python only: the
computation is unchanged) and restored afterwards:

* Keras 3 (TensorFlow backend): ``keras.src.backend.lstm`` / ``gru`` / ``rnn`` — the names the layers look
  up at call time — and ``keras.src.backend.tensorflow.rnn._cudnn_lstm`` / ``_cudnn_gru``. ``_cudnn_*``
  returned: cuDNN ran (traced, it is the only path: an invalid mask then raises at run time); it raised
  and ``backend.rnn`` followed: the layer fell back to the generic loop.
* Keras 2 / tf-keras: the fused layer's module functions ``standard_lstm`` / ``gpu_lstm`` (GRU likewise),
  ``lstm_with_backend_selection`` and the backend's ``rnn``. Each of them returns Keras's own ``runtime``
  tensor (0 generic loop, 1 ``standard_*``, 2 cuDNN), made inside whichever function really ran — also
  after Grappler swaps the GPU implementation in inside a ``tf.function`` — so the kit reads that value:
  eagerly from the function that ran, in a traced function from ``*_with_backend_selection``'s output,
  returned from the item's compiled step.

See /docs/case-format.md (``expect.kernel``) for what a case can require of it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from conformance.run import modes
from conformance.run.tfenv import TFEnv

GENERIC = "generic RNN loop (backend rnn over the cell)"
KINDS = ("python_loop", "generic", "fused_cpu", "cudnn", "custom", "unobserved")
_RUNTIME = {0: "generic", 1: "fused_cpu", 2: "cudnn"}  # Keras 2's gru_lstm_utils RUNTIME_* constants


@dataclass
class Observation:
    """What the wrapped backend functions saw during one call."""

    calls: list[tuple[str, str]] = field(default_factory=list)  # (function, "returned" | "raised X")
    runtimes: list[Any] = field(default_factory=list)  # Keras 2 runtime tensors (eager values or symbolic)
    values: list[float] = field(default_factory=list)  # the runtimes, read after the call

    def called(self, name: str, outcome: str = "returned") -> bool:
        return any(n == name and o.startswith(outcome) for n, o in self.calls)


@dataclass(frozen=True)
class Kernel:
    kind: str  # one of KINDS
    text: str  # as failure headers, results files and the summary show it
    evidence: str = ""  # what was observed

    def __str__(self) -> str:
        return self.text


def _module(name: str) -> Any:
    return sys.modules.get(name)


def _targets(env: TFEnv) -> list[tuple[Any, str, str]]:
    """(module, attribute, role) to wrap for this flavour; missing ones are skipped (observed as such)."""
    keras = env.keras
    if env.flavour == "keras3":
        backend = _module("keras.src.backend")
        tf_rnn = _module("keras.src.backend.tensorflow.rnn")
        found = [(backend, n, n) for n in ("lstm", "gru", "rnn")]
        found += [(tf_rnn, n, n) for n in ("_cudnn_lstm", "_cudnn_gru")]
        return [(m, a, r) for m, a, r in found if m is not None and hasattr(m, a)]
    out: list[tuple[Any, str, str]] = []
    for layer, prefix in (("LSTM", "lstm"), ("GRU", "gru")):
        module = _module(getattr(keras.layers, layer).__module__)
        if module is None:
            continue
        out += [
            (module, n, n)
            for n in (f"standard_{prefix}", f"gpu_{prefix}", f"{prefix}_with_backend_selection")
            if hasattr(module, n)
        ]
    lstm_module = _module(keras.layers.LSTM.__module__)
    backend = _module(getattr(getattr(lstm_module, "backend", None), "__name__", ""))
    if backend is not None and hasattr(backend, "rnn"):
        out.append((backend, "rnn", "rnn"))
    return out


@contextmanager
def observe(env: TFEnv) -> Iterator[Observation]:
    """Wrap the kernel-choosing functions for the duration of the block; always put them back."""
    seen = Observation()
    tf = env.tf
    originals = []
    for module, attribute, role in _targets(env):
        original = getattr(module, attribute)
        originals.append((module, attribute, original))
        setattr(module, attribute, _wrap(original, role, seen, tf))
    try:
        yield seen
    finally:
        for module, attribute, original in reversed(originals):
            setattr(module, attribute, original)


def _wrap(original: Callable[..., Any], role: str, seen: Observation, tf: Any) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            out = original(*args, **kwargs)
        except BaseException as exc:
            seen.calls.append((role, f"raised {type(exc).__name__}"))
            raise
        seen.calls.append((role, "returned"))
        keras2_fused = role.startswith(("standard_", "gpu_", "lstm_with", "gru_with"))
        if keras2_fused and isinstance(out, (list, tuple)) and out:
            runtime = out[-1]
            eager = tf.executing_eagerly()
            # Eagerly, the function that ran says it; traced, only the selection's output does (the inner
            # defuns of both implementations are traced, and their tensors live in their own graphs).
            if (eager and not role.endswith("backend_selection")) or (
                not eager
                and role.endswith("backend_selection")
                and getattr(runtime, "graph", None) is tf.compat.v1.get_default_graph()
            ):
                seen.runtimes.append(runtime)
        return out

    return wrapper


def resolve(seen: Observation, returned_runtimes: list[Any]) -> None:
    """Read the runtime values (the compiled step returned the traced ones as outputs)."""
    for value in returned_runtimes or seen.runtimes:
        try:
            seen.values.append(float(value))
        except (TypeError, ValueError):  # a symbolic tensor that was not returned
            continue


def describe(
    path: str, family_cell: str, layer_class: str | None, custom: bool, mode: str, seen: Observation
) -> Kernel:
    """The kernel that ran, from what was observed."""
    suffix = modes.suffix(mode)
    if path == "manual_loop":
        return Kernel("python_loop", f"python loop over {family_cell}.call{suffix}", "the kit's own loop")
    if custom and path == "fused_layer":
        return Kernel("custom", f"custom layer {layer_class}", "a user's layer")
    evidence = ", ".join(f"{n} {o}" for n, o in seen.calls) or "no backend function called"
    if seen.values:
        kinds = sorted({_RUNTIME.get(int(v), "generic") for v in seen.values})
        evidence += f"; Keras runtime {sorted(set(seen.values))}"
        kind = kinds[-1] if len(kinds) == 1 else "mixed"
        if kind == "fused_cpu":
            name = (
                "standard_lstm"
                if seen.called("standard_lstm") or seen.called("lstm_with_backend_selection")
                else "standard_gru"
            )
            return Kernel(kind, f"{name} (Keras 2 fused CPU kernel){suffix}", evidence)
        if kind == "cudnn":
            return Kernel(kind, "cudnn" + suffix, evidence)
        if kind == "generic":
            return Kernel(kind, GENERIC + suffix, evidence)
        return Kernel("generic", f"mixed: {', '.join(kinds)}{suffix}", evidence)
    if seen.called("_cudnn_lstm") or seen.called("_cudnn_gru"):
        return Kernel("cudnn", "cudnn" + suffix, evidence)
    if seen.called("rnn") or seen.called("rnn", "raised"):
        fell_back = any(n.startswith("_cudnn") and o.startswith("raised") for n, o in seen.calls)
        text = GENERIC + (" after cuDNN was refused" if fell_back else "") + suffix
        return Kernel("generic", text, evidence)
    return Kernel("unobserved", "not observed (no backend function called)" + suffix, evidence)


def expected_fused(flavour: str, device: str, has_fused_kernel: bool) -> str:
    """The kernel kind the fused layer has for this flavour and device (``expect.kernel = "fused"``):
    cuDNN on a GPU; on the CPU Keras 2's own fused kernel, while Keras 3 has none (the generic loop)."""
    if not has_fused_kernel:
        return "generic"
    if device == "gpu":
        return "cudnn"
    return "generic" if flavour == "keras3" else "fused_cpu"
