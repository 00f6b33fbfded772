"""``model.to_json()`` with the weights as arrays: ``model_from_json``, then ``set_weights``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conformance.run.saving.base import Loaded, SaveFormat, Session, call_model, lost_arguments

CONFIG, WEIGHTS = "model.json", "weights.npz"


class Json(SaveFormat):
    name = "json"

    def write(self, s: Session, folder: Path) -> None:
        s.record(f"open('{CONFIG}', 'w').write(model.to_json()); np.savez('{WEIGHTS}', *model.get_weights())")
        (folder / CONFIG).write_text(s.model.to_json(), encoding="utf-8")
        np.savez(folder / WEIGHTS, *s.model.get_weights())

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        s.record(f"loaded = keras.models.model_from_json(open('{CONFIG}').read())")
        loaded = s.keras.models.model_from_json((folder / CONFIG).read_text(encoding="utf-8"))
        out.lost = lost_arguments(s.model, loaded)
        with np.load(folder / WEIGHTS, allow_pickle=False) as data:
            arrays = [data[f"arr_{i}"] for i in range(len(data.files))]
        s.record(f"loaded.set_weights(<{len(arrays)} arrays from {WEIGHTS}>)")
        loaded.set_weights(arrays)
        call_model(s, loaded, out)


FORMAT = Json()
