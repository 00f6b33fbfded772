"""Tensors in and out of a path: fed in the item's dtype, read back as float64 NumPy with their dtypes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.families.structures import flatten


@dataclass
class Returned:
    """What one call returned, converted to NumPy, with the container and dtypes as Keras gave them."""

    container: str  # "tensor", "list", "tuple"
    arrays: list[np.ndarray]
    dtypes: list[str]
    tensors: list[Any] = field(repr=False, default_factory=list)


def dtype_name(t: Any) -> str:
    d = getattr(t, "dtype", None)
    return getattr(d, "name", str(d))


def to_numpy(t: Any) -> np.ndarray:
    """float64 NumPy copy of a tensor (TF's bfloat16 arrives as an ml_dtypes array, which converts too)."""
    return np.asarray(t).astype(np.float64)


def returned(value: Any, *, symbolic: bool = False) -> Returned:
    """What a call returned (nested states flattened); ``symbolic`` (in a tf.function trace) keeps shapes."""
    items = flatten(value)
    container = type(value).__name__ if isinstance(value, (list, tuple)) else "tensor"
    arrays = [np.zeros(tuple(v.shape)) if symbolic else to_numpy(v) for v in items]
    return Returned(container, arrays, [dtype_name(v) for v in items], items)


def feed(tf: Any, values: np.ndarray, dtype: str) -> Any:
    """A constant in the dtype the path is fed (NumPy has no bfloat16: made from float32)."""
    return tf.constant(np.asarray(values, dtype=np.float32 if dtype == "bfloat16" else dtype), dtype=dtype)


def feed_all(tf: Any, arrays: Sequence[np.ndarray], dtype: str) -> list[Any]:
    return [feed(tf, a, dtype) for a in arrays]
