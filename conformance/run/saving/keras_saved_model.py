"""Keras 2's ``model.save(dir, save_format='tf')``: a SavedModel with Keras metadata, read by ``load_model``
(Keras 3 refuses SavedModel folders: keras#18709)."""

from __future__ import annotations

from pathlib import Path

from conformance.run.saving.base import Loaded, SaveFormat, Session, call_model, lost_arguments

DIR = "keras_saved_model"


class KerasSavedModel(SaveFormat):
    name = "keras_saved_model"

    def write(self, s: Session, folder: Path) -> None:
        s.record(f"model.save('{DIR}', save_format='tf')")
        s.model.save(str(folder / DIR), save_format="tf")

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        s.record(f"loaded = keras.models.load_model('{DIR}', compile=False)")
        loaded = s.keras.models.load_model(str(folder / DIR), compile=False)
        out.lost = lost_arguments(s.model, loaded)
        call_model(s, loaded, out)


FORMAT = KerasSavedModel()
