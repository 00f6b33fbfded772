"""``model.export(dir)``: the inference-only SavedModel; its ``serve`` endpoint, and Keras 3's TFSMLayer."""

from __future__ import annotations

from pathlib import Path

from conformance.run.saving.base import Loaded, SaveFormat, Session, by_name, observe

DIR = "export"


class Export(SaveFormat):
    name = "export"

    def write(self, s: Session, folder: Path) -> None:
        s.record(f"model.export('{DIR}')")
        s.model.export(str(folder / DIR))

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        if loader == "TFSMLayer":
            if not hasattr(s.keras.layers, "TFSMLayer"):
                out.unavailable = "this Keras has no keras.layers.TFSMLayer (Keras 3 added it)"
                return
            s.record(f"keras.layers.TFSMLayer('{DIR}', call_endpoint='serve')(x)")
            layer = s.keras.layers.TFSMLayer(str(folder / DIR), call_endpoint="serve")
            observe(s, out, by_name(layer(s.feed)))
            return
        s.record(f"tf.saved_model.load('{DIR}').serve(x)")
        restored = s.tf.saved_model.load(str(folder / DIR))
        observe(s, out, by_name(restored.serve(s.feed)))


FORMAT = Export()
