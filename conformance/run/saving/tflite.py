"""TFLite: the model converted with static shapes (the item's batch and time) and run by the TFLite
interpreter; the op set it was converted to (a fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` / ``..._RNN``, or
a ``WHILE`` loop, or Flex ops) is recorded with the verdict.

Keras 3 converts through ``model.export(dir, input_signature=...)`` and ``from_saved_model`` (its
SavedModel of a None-time model cannot be converted: TensorListReserve); Keras 2 through a concrete
function of the model and ``from_concrete_functions``, the route its docs give.
"""

from __future__ import annotations

import inspect
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from conformance.run.saving.base import Loaded, SaveFormat, Session, feed_list, natural, observe

FILE, OPS = "model.tflite", "ops.json"


def _interpreter(tf: Any, **source: Any) -> Any:
    """tf.lite.Interpreter; TF 2.18+ warns that it moves to the ai_edge_litert package (TF's notice, not a
    finding: the interpreter is still TF's, and what it computes is judged). The message starts with
    whitespace and changed wording between releases; both say "Please use the LiteRT interpreter"."""
    with warnings.catch_warnings():
        notice = r"\s*Warning: [\s\S]*LiteRT interpreter"
        warnings.filterwarnings("ignore", message=notice, category=UserWarning)
        return tf.lite.Interpreter(**source)


class TFLite(SaveFormat):
    name = "tflite"

    def write(self, s: Session, folder: Path) -> None:
        tf = s.tf
        specs = [tf.TensorSpec(np.shape(v), tf.as_dtype(np.asarray(v).dtype)) for v in feed_list(s)]
        several = len(specs) > 1
        if hasattr(s.model, "export") and s.flavour == "keras3":
            with tempfile.TemporaryDirectory(prefix="conformance-tflite-") as tmp:
                s.record(
                    "model.export(tmp, input_signature=[<static shapes>]); "
                    "tf.lite.TFLiteConverter.from_saved_model(tmp)"
                )
                signature = [specs] if several else specs
                if "input_signature" in inspect.signature(s.model.export).parameters:
                    s.model.export(tmp, input_signature=signature, verbose=False)
                else:  # Keras 3 before export(input_signature=): what export does, with static shapes
                    s.record("(this Keras's export takes no input_signature: keras.export.ExportArchive)")
                    archive = s.keras.export.ExportArchive()
                    archive.track(s.model)
                    archive.add_endpoint(
                        "serve", lambda v: s.model(v, training=False), input_signature=[signature]
                    )
                    archive.write_out(tmp)
                converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
                content = converter.convert()
        else:
            s.record(
                "tf.lite.TFLiteConverter.from_concrete_functions("
                "[tf.function(model).get_concrete_function(<static shapes>)], model)"
            )
            fn = tf.function(lambda *v: s.model(list(v) if several else v[0]))
            converter = tf.lite.TFLiteConverter.from_concrete_functions(
                [fn.get_concrete_function(*specs)], s.model
            )
            content = converter.convert()
        (folder / FILE).write_bytes(content)
        interpreter = _interpreter(tf, model_content=content)
        ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})
        (folder / OPS).write_text(json.dumps(ops), encoding="utf-8")

    def load(self, loader: str, s: Session, folder: Path, out: Loaded) -> None:
        tf = s.tf
        s.record(f"interpreter = tf.lite.Interpreter('{FILE}'); interpreter.invoke()")
        interpreter = _interpreter(tf, model_path=str(folder / FILE))
        interpreter.allocate_tensors()
        inputs = sorted(interpreter.get_input_details(), key=lambda d: natural(d["name"]))
        values = feed_list(s)
        if len(inputs) != len(values):
            raise ValueError(f"the TFLite model takes {len(inputs)} inputs, the model {len(values)}")
        for detail, value in zip(inputs, values):
            interpreter.set_tensor(detail["index"], np.asarray(value, dtype=detail["dtype"]))
        interpreter.invoke()
        outputs = sorted(interpreter.get_output_details(), key=lambda d: natural(d["name"]))
        got = [interpreter.get_tensor(d["index"]) for d in outputs]
        observe(s, out, got if len(got) > 1 else got[0])
        out.ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})


FORMAT = TFLite()
