"""``model.save('model.h5')``: the legacy full-model HDF5 file (Keras 3 reads it with its legacy loader,
which compares shapes only — keras#20750, keras#20106)."""

from __future__ import annotations

from conformance.run.saving.keras_archive import KerasArchive


class H5(KerasArchive):
    name = "h5"
    file = "model.h5"


FORMAT = H5()
