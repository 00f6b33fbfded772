"""``tf.saved_model.save(model, dir)``: its serving signature, and the restored object called directly."""

from __future__ import annotations

from pathlib import Path

from conformance.run.saving.base import Loaded, SaveFormat, Session, by_name, feed_list, natural, observe

DIR = "saved_model"


class SavedModel(SaveFormat):
    name = "saved_model"

    def write(self, s: Session, folder: Path) -> None:
        s.record(f"tf.saved_model.save(model, '{DIR}')")
        s.tf.saved_model.save(s.model, str(folder / DIR))

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        tf = s.tf
        s.record(f"restored = tf.saved_model.load('{DIR}')")
        restored = tf.saved_model.load(str(folder / DIR))
        if loader == "serving_default":
            s.record("restored.signatures['serving_default'](**inputs)")
            fn = restored.signatures["serving_default"]
            names = sorted(fn.structured_input_signature[1], key=natural)
            values = feed_list(s)
            if len(names) != len(values):
                raise ValueError(
                    f"the serving signature takes {len(names)} inputs ({names}); the model {len(values)}"
                )
            kwargs = {
                n: tf.constant(v, dtype=fn.structured_input_signature[1][n].dtype)
                for n, v in zip(names, values)
            }
            observe(s, out, by_name(fn(**kwargs)))
            return
        s.record("restored(x)")
        if not callable(restored):
            raise TypeError(f"the restored object ({type(restored).__name__}) is not callable")
        observe(s, out, restored(s.feed, training=False))


FORMAT = SavedModel()
