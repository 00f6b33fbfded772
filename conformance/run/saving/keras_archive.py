"""``model.save('model.keras')`` and ``keras.models.load_model``: the Keras archive."""

from __future__ import annotations

import warnings
from pathlib import Path

from conformance.run.saving.base import Loaded, SaveFormat, Session, call_model, lost_arguments


class KerasArchive(SaveFormat):
    name = "keras"
    file = "model.keras"

    def write(self, s: Session, folder: Path) -> None:
        s.record(f"model.save('{self.file}')")
        with (
            warnings.catch_warnings()
        ):  # saving .h5 on purpose: Keras's "considered legacy" is the kit's doing
            warnings.filterwarnings("ignore", message=".*HDF5 file.*legacy", category=UserWarning)
            s.model.save(str(folder / self.file))

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        s.record(f"loaded = keras.models.load_model('{self.file}', compile=False)")
        loaded = s.keras.models.load_model(str(folder / self.file), compile=False)
        out.lost = lost_arguments(s.model, loaded)
        call_model(s, loaded, out)


FORMAT = KerasArchive()
