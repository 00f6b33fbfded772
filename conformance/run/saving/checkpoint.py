"""``tf.train.Checkpoint(model=model).write(...)``: the TF checkpoint format, read into a fresh model."""

from __future__ import annotations

from pathlib import Path

from conformance.run.saving.base import Loaded, SaveFormat, Session, call_model, fresh_model, weights_of

PREFIX = "ckpt"


class Checkpoint(SaveFormat):
    name = "checkpoint"

    def write(self, s: Session, folder: Path) -> None:
        s.record(f"tf.train.Checkpoint(model=model).write('{PREFIX}')")
        s.tf.train.Checkpoint(model=s.model).write(str(folder / PREFIX))

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        fresh = fresh_model(s)
        out.fresh = [w for _, w in weights_of(fresh)]
        # The saved model was compiled (its optimizer is in the checkpoint); every object of the fresh
        # model must be matched, which is what a user restoring weights relies on.
        s.record(
            f"tf.train.Checkpoint(model=fresh).read('{PREFIX}').expect_partial().assert_existing_objects_matched()"
        )
        s.tf.train.Checkpoint(model=fresh).read(
            str(folder / PREFIX)
        ).expect_partial().assert_existing_objects_matched()
        call_model(s, fresh, out, "fresh")


FORMAT = Checkpoint()
