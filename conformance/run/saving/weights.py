"""``model.save_weights('model.weights.h5')`` read by ``load_weights`` into a freshly built model."""

from __future__ import annotations

from pathlib import Path

from conformance.run.saving.base import Loaded, SaveFormat, Session, call_model, fresh_model, weights_of

FILE = "model.weights.h5"


class Weights(SaveFormat):
    name = "weights"

    def write(self, s: Session, folder: Path) -> None:
        s.record(f"model.save_weights('{FILE}')")
        s.model.save_weights(str(folder / FILE))

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        fresh = fresh_model(s)
        out.fresh = [w for _, w in weights_of(fresh)]
        s.record(f"fresh.load_weights('{FILE}')")
        fresh.load_weights(str(folder / FILE))
        call_model(s, fresh, out, "fresh")


FORMAT = Weights()
