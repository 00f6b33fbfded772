"""Execution modes (registered in :mod:`conformance.registry`): a function as the item's mode runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance import registry

MODES = registry.by_name(registry.MODES)


def spelled(mode: str) -> str:
    """How a call log spells the mode: '' for eager, else the wrapper (``tf.function(jit_compile=True)``)."""
    entry = MODES[mode]
    return "" if entry.function is None else entry.spelled


def suffix(mode: str) -> str:
    """What a kernel description adds for a compiled mode."""
    return "" if MODES[mode].function is None else f", in {MODES[mode].spelled}"


def compile_function(tf: Any, function: Callable[..., Any], mode: str) -> Callable[..., Any]:
    """``function`` as is (eager) or wrapped in ``tf.function`` with the mode's arguments."""
    kwargs = MODES[mode].function
    return function if kwargs is None else tf.function(function, **kwargs)  # type: ignore[no-any-return]
