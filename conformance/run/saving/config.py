"""``model.get_config()`` -> ``keras.Model.from_config`` (in memory), then ``set_weights``: every
constructor argument of every layer must survive."""

from __future__ import annotations

from pathlib import Path

from conformance.run.saving.base import Loaded, SaveFormat, Session, call_model, lost_arguments


class Config(SaveFormat):
    name = "config"
    portable = False

    def write(self, s: Session, folder: Path) -> None:
        """Nothing to write: the config goes from one model to the next in memory (json writes it)."""

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        kind = type(s.model).__name__
        s.record(f"loaded = keras.{kind}.from_config(model.get_config())")
        loaded = type(s.model).from_config(s.model.get_config())
        out.lost = lost_arguments(s.model, loaded)
        s.record("loaded.set_weights(model.get_weights())")
        loaded.set_weights(s.model.get_weights())
        call_model(s, loaded, out)


FORMAT = Config()
