"""Each item runs as if it were alone: global Keras/TF state restored, a time limit, op determinism.

Items share a process (under xdist, a worker). An item that changes process-wide state — the global dtype
policy, ``floatx`` — would change what every later item computes, so verdicts would depend on the order
items ran in. :func:`run` wraps one item: it snapshots the state listed in :data:`GLOBALS`, restores it
afterwards, and fails the item that changed it (a *leak*), so the next item is unaffected and the culprit
is named.

What is snapshotted, and why: the global dtype policy (a layer built without ``dtype`` takes it),
``floatx`` and ``epsilon`` (Keras backend configuration), TensorFloat-32 (float32 matmul precision on
Ampere-or-newer GPUs), ``run_functions_eagerly`` and soft device placement (how and where ops run), and op
determinism. Not the global random seed: every number the kit feeds a path comes from seeded NumPy
generators, never from TF's global RNG.

The time limit is SIGALRM-based (``signal.setitimer``), so it works in the main thread of a platform that
has SIGALRM (xdist runs items in its workers' main threads). The handler raises :class:`ItemTimeout` the
next time the interpreter runs Python code; a hang inside one C++ op never returns to the interpreter and
cannot be interrupted that way. For that, ``faulthandler.dump_traceback_later(..., exit=True)`` is the hard
backstop a few seconds later: it prints every thread's stack and ends the process. Under xdist the worker
dies, xdist reports the item as crashed and starts a new worker; without xdist the run ends, and a results
file is left with ``"status": "running"`` (which ``python -m conformance report`` shows as an error column).
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from conformance.item import ItemId
from conformance.run import tfenv
from conformance.verdict.outcome import ItemOutcome

_STDERR_FD: int | None = None  # a copy of the real stderr, made before pytest captures it per item


class ItemTimeout(BaseException):
    """Raised by the SIGALRM handler. A BaseException, so the kit's ``except Exception`` (which turns a
    Keras error into a finding) does not mistake running out of time for something Keras did."""


@dataclass(frozen=True)
class Global:
    """One piece of process-wide state: how to read it, how to put it back, how to show it."""

    name: str
    get: Callable[[tfenv.TFEnv], Any]
    put: Callable[[tfenv.TFEnv, Any], None]
    available: Callable[[tfenv.TFEnv], bool] = lambda env: True


def _policy_name(value: Any) -> str:
    return str(getattr(value, "name", value))


GLOBALS: tuple[Global, ...] = (
    # Keras 2 and Keras 3 (as tf.keras) both spell it keras.mixed_precision.global_policy(); in Keras 3 it
    # is the same state as keras.config.dtype_policy().
    Global(
        "dtype policy (keras.mixed_precision.global_policy())",
        lambda env: env.keras.mixed_precision.global_policy(),
        lambda env, v: env.keras.mixed_precision.set_global_policy(v),
    ),
    Global(
        "floatx (keras.backend.floatx())",
        lambda env: env.keras.backend.floatx(),
        lambda env, v: env.keras.backend.set_floatx(v),
    ),
    Global(
        "epsilon (keras.backend.epsilon())",
        lambda env: env.keras.backend.epsilon(),
        lambda env, v: env.keras.backend.set_epsilon(v),
    ),
    Global(
        "TensorFloat-32 (tf.config.experimental.tensor_float_32_execution_enabled())",
        lambda env: env.tf.config.experimental.tensor_float_32_execution_enabled(),
        lambda env, v: env.tf.config.experimental.enable_tensor_float_32_execution(v),
    ),
    Global(
        "tf.config.functions_run_eagerly()",
        lambda env: env.tf.config.functions_run_eagerly(),
        lambda env, v: env.tf.config.run_functions_eagerly(v),
    ),
    Global(
        "tf.config.get_soft_device_placement()",
        lambda env: env.tf.config.get_soft_device_placement(),
        lambda env, v: env.tf.config.set_soft_device_placement(v),
    ),
    Global(
        "op determinism",
        lambda env: tfenv.op_determinism(env.tf),
        lambda env, v: tfenv.set_op_determinism(env.tf, v),
        lambda env: tfenv.can_disable_op_determinism(),
    ),
)


def snapshot(env: tfenv.TFEnv) -> dict[str, Any]:
    """The current value of every global the item may touch (those this TF and Keras have)."""
    values = {}
    for g in GLOBALS:
        with contextlib.suppress(AttributeError):
            if g.available(env):
                values[g.name] = g.get(env)
    return values


def restore(env: tfenv.TFEnv, before: dict[str, Any]) -> list[str]:
    """Put back whatever changed; one line per change ("name: before -> after"), empty when none did."""
    changes = []
    for g in GLOBALS:
        if g.name not in before:
            continue
        was, now = before[g.name], g.get(env)
        if _policy_name(was) == _policy_name(now):
            continue
        changes.append(f"{g.name}: {_policy_name(was)!r} -> {_policy_name(now)!r}")
        try:
            g.put(env, was)
        except Exception as exc:  # said in the item's failure: later items may be affected
            changes[-1] += f" (could NOT be restored: {type(exc).__name__}: {exc})"
    return changes


def keep_stderr() -> None:
    """Before items capture stderr (the harness calls this at configure): keep a copy of it for the hard
    time limit."""
    global _STDERR_FD
    if _STDERR_FD is None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            _STDERR_FD = os.dup(sys.__stderr__.fileno())  # type: ignore[union-attr]


def timeout_supported() -> bool:
    return hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")


def backstop_seconds(seconds: float) -> float:
    """When the hard backstop fires: time for the SIGALRM exception to unwind, then the process ends."""
    return seconds + max(5.0, seconds / 10)


def header_lines(timeout: float, deterministic: bool) -> list[str]:
    """What the report header says about the time limit and op determinism."""
    if timeout <= 0:
        limit = "item time limit off"
    elif not timeout_supported():
        limit = "item time limit unsupported on this platform (no SIGALRM): items run without one"
    else:
        limit = f"item time limit {timeout:g} s (hard stop after {backstop_seconds(timeout):g} s)"
    return [f"conformance: {limit}; op determinism {'on' if deterministic else 'off'}"]


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`ItemTimeout` after ``seconds``; end the process if that cannot interrupt the item."""
    if seconds <= 0 or not timeout_supported() or threading.current_thread() is not threading.main_thread():
        yield
        return
    armed = True

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if armed:
            raise ItemTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    backstop = _STDERR_FD if _STDERR_FD is not None else sys.__stderr__
    try:
        faulthandler.dump_traceback_later(backstop_seconds(seconds), exit=True, file=backstop)  # type: ignore[arg-type]
    except (ValueError, AttributeError, OSError):  # no usable stderr: the soft limit still holds
        backstop = None
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        if backstop is not None:
            faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Where:
    """Which item is running, as the harness names it: for a timeout's message."""

    item: ItemId
    nodeid: str
    located: str  # "label   (file:line)"


def _where(exc: BaseException) -> str:
    """The innermost frame the time limit interrupted: where the item was stuck."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    if not frames:
        return "(no Python frame)"
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"


def _timed_out(where: Where, seconds: float, exc: ItemTimeout, env: tfenv.TFEnv) -> ItemOutcome:
    message = (
        f"[timeout] item {where.nodeid} exceeded its time limit of {seconds:g} s "
        f"(--conformance-timeout / ini conformance_timeout; 0 turns it off); interrupted at {_where(exc)}"
    )
    header = f"{where.located}\n  environment: {env.describe()}"
    record = {
        **where.item.record(),
        "kernel": None,
        "checks": {},
        "worst": {},
        "outcome": "failed",
        "reason": message,
        "duration": seconds,
    }
    return ItemOutcome("failed", header, "", (message,), record=record, environment=env.fingerprint)


def _leaked(outcome: ItemOutcome, changes: list[str]) -> ItemOutcome:
    otherwise = f"; otherwise the item {outcome.status}" if outcome.status != "failed" else ""
    message = (
        "[isolation] the item changed process-wide Keras/TF state and did not put it back"
        f"{otherwise}:\n" + "\n".join(f"  {c}" for c in changes) + "\n  restored for the next item; an item "
        "must leave global state as it found it (set a layer's dtype instead of the global policy)"
    )
    record = {**outcome.record, "outcome": "failed", "leaked": changes}
    problems = (*outcome.problems, message)
    return dataclasses.replace(outcome, status="failed", skip="", problems=problems, record=record)


def run(
    judge: Callable[[], ItemOutcome], where: Where, *, timeout: float, deterministic: bool
) -> ItemOutcome:
    """Judge one item in isolation: determinism first, global state restored, a time limit, leaks named."""
    env = tfenv.load()  # outside the time limit: the first item of a process pays for importing TF
    if deterministic:
        tfenv.enable_op_determinism(env)
    before = snapshot(env)
    try:
        with time_limit(timeout):
            outcome = judge()
    except ItemTimeout as exc:
        outcome = _timed_out(where, timeout, exc, env)
    finally:
        changes = restore(env, before)
    return _leaked(outcome, changes) if changes else outcome
