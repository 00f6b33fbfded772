"""The markers every item carries, read from the registries: one per path, mode, dtype, device, family."""

from __future__ import annotations

from conformance import registry
from conformance.families import LAYERS

MARKERS: dict[str, str] = {
    "conformance": "an item generated from a conformance case file",
    "known_divergence": "the item's case declares known divergences (strict xfail when they apply)",
    "contract": "an API contract: one public call and the outcome it must have",
    **{e.name: f"path: {e.doc}" for e in registry.PATHS},
    **{d: f"dtype: {d}" for d in registry.DTYPES},
    **{d: f"device: {d}" for d in registry.DEVICES},
    **{e.name: f"execution mode: {e.name}" for e in registry.MODES},
    **{e.name: f"context: {e.doc}" for e in registry.CONTEXTS},
    **{name: f"layer family: {name}" for name in LAYERS},
}
