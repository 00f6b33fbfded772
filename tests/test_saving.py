"""Saved models: round trips within a release, carry-over across releases, and the faults each must catch.

Each fault is injected into Keras in a subprocess (``run_broken``) and must fail with a message naming the
format, the loader and the weight or argument. The per-layer loader hook the weight faults patch
(``load_own_variables``) exists from Keras 2.13 on; where it does not, those tests skip, saying so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType

import forked
import numpy as np
import pytest
from conftest import assert_breakage_reported, run_broken

from conformance.checks.loaded import diagnose

pytestmark = pytest.mark.requires_tf  # imported before pytester's sys.modules snapshot: TF imports once

GRU = """
[[case]]
id = "victim"
layer = "gru"
batch = 2
timesteps = 4
features = 3
units = 4
paths = ["fused_layer"]
contexts = ["functional"]
dtypes = ["float32"]
devices = ["cpu"]
options = { reset_after = false }
expect = { saving = ["keras", "weights", "config"], checks = ["round_trip"] }
"""

LSTM_STATE = """
[[case]]
id = "victim"
layer = "lstm"
batch = 2
timesteps = 4
features = 3
units = 4
paths = ["fused_layer"]
contexts = ["functional"]
dtypes = ["float32"]
devices = ["cpu"]
options = { return_state = true }
initial_state = { kind = "random" }
expect = { saving = ["weights", "saved_model"], checks = ["round_trip"] }
"""


def _keras3(tf: ModuleType) -> None:
    if not hasattr(tf.keras.layers.Layer, "load_own_variables"):
        pytest.skip("the fault is injected into the per-layer loader hook load_own_variables (Keras >= 2.13)")


# -- faults a loader or a config can have -------------------------------------------------------------
def test_a_loader_that_drops_the_gru_bias(pytester: pytest.Pytester, tf: ModuleType) -> None:
    _keras3(tf)
    patch = """
    orig = K.layers.GRUCell.load_own_variables
    def load_own_variables(self, store):
        orig(self, store)
        self.bias.assign(tf.zeros_like(self.bias))
    K.layers.GRUCell.load_own_variables = load_own_variables
    """
    result = run_broken(pytester, GRU, patch)
    assert_breakage_reported(
        result,
        [
            "[[]round_trip] keras.load_model: weight bias as loaded: 12 of 12 elements differ from the saved "
            "model's; all zeros: not loaded",
            "[[]round_trip] weights.load_weights: weight bias as loaded: 12 of 12 elements differ*all zeros*",
        ],
    )
    result.stdout.no_fnmatch_line("*config.from_config*")  # what the fault does not touch stays green


def test_a_loader_that_transposes_the_recurrent_kernel(pytester: pytest.Pytester, tf: ModuleType) -> None:
    _keras3(tf)
    patch = """
    orig = K.layers.LSTMCell.load_own_variables
    def load_own_variables(self, store):
        orig(self, store)
        k = self.recurrent_kernel
        k.assign(tf.reshape(tf.transpose(k), k.shape))
    K.layers.LSTMCell.load_own_variables = load_own_variables
    """
    result = run_broken(pytester, LSTM_STATE.replace('"saved_model"', '"keras"'), patch)
    assert_breakage_reported(
        result,
        [
            "[[]round_trip] weights.load_weights: weight recurrent_kernel as loaded: * of 64 "
            "elements differ from "
            "the saved model's; the saved weight transposed (read in the other axis order)",
        ],
    )


def test_a_loader_that_permutes_gate_blocks_is_diagnosed() -> None:
    """LSTM gates [i, f, c, o] read as [f, i, c, o]: the diagnosis names the block order."""
    want = np.arange(3 * 16, dtype=float).reshape(3, 16)
    got = np.concatenate([want[:, 4:8], want[:, 0:4], want[:, 8:]], axis=1)
    assert (
        diagnose(got, want, None, 4)
        == "gate blocks permuted: the 4 blocks of 4 hold the saved blocks [1, 0, 2, 3]"
    )
    assert diagnose(np.zeros_like(want), want, None, 4) == "all zeros: not loaded"
    fresh = want + 1
    assert diagnose(fresh, want, fresh, 4) == "still the fresh model's initial values: not loaded"
    assert diagnose(want[::-1], want, None, 4) == "the saved values in another order"


def test_a_get_config_that_loses_reset_after(pytester: pytest.Pytester, tf: ModuleType) -> None:
    patch = """
    orig = K.layers.GRU.get_config
    def get_config(self):
        config = orig(self)
        config.pop("reset_after", None)
        return config
    K.layers.GRU.get_config = get_config
    """
    result = run_broken(pytester, GRU, patch)
    assert_breakage_reported(
        result,
        [
            "[[]round_trip] config.from_config: a constructor argument did not survive the rebuild: "
            "gru.reset_after: "
            "False -> True"
        ],
    )


def test_a_saved_model_whose_signature_ignores_the_initial_state(
    pytester: pytest.Pytester, tf: ModuleType
) -> None:
    patch = """
    orig = tf.saved_model.save
    def save(obj, export_dir, signatures=None, options=None):
        specs = [tf.TensorSpec(i.shape, i.dtype, name=f"input_{k}") for k, i in enumerate(obj.inputs)]
        @tf.function(input_signature=specs)
        def serve(*inputs):  # a signature that feeds zeros for the initial state it is given
            return obj([inputs[0], *[tf.zeros_like(s) for s in inputs[1:]]])
        return orig(obj, export_dir, signatures={"serving_default": serve}, options=options)
    tf.saved_model.save = save
    """
    result = run_broken(pytester, LSTM_STATE, patch)
    assert_breakage_reported(
        result, ["[[]round_trip] saved_model.serving_default: output of * vs oracle: * elements differ*"]
    )
    result.stdout.no_fnmatch_line("*serving_default: refused*")
    result.stdout.no_fnmatch_line("*weights.load_weights*")


def test_saving_needs_a_model_context(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", victim=GRU.replace('contexts = ["functional"]', 'contexts = ["call"]'))
    result = pytester.runpytest("--co", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*expect.saving*saving needs a model to save*"])


# -- carry-over: bad input is a finding naming the file ------------------------------------------------
CARRY = GRU.replace('["keras", "weights", "config"]', '["weights", "json"]')


@pytest.fixture
def saved(pytester: pytest.Pytester, tf: ModuleType) -> Path:
    pytester.makefile(".toml", victim=CARRY)
    result = forked.runpytest(pytester, "-p", "no:cacheprovider", "--conformance-record", "base")
    result.assert_outcomes(passed=1)
    folder = pytester.path / "base" / "victim" / "fused_layer-functional-float32-cpu-eager.saved"
    assert sorted(p.name for p in folder.iterdir()) == ["io.npz", "json", "meta.json", "weights"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["format"] == 1 and meta["written"] == {"json": "ok", "weights": "ok"}
    return folder


def _compare(pytester: pytest.Pytester) -> pytest.RunResult:
    return forked.runpytest(pytester, "-p", "no:cacheprovider", "--conformance-baseline", "base")


def test_what_was_saved_loads_and_agrees(pytester: pytest.Pytester, saved: Path) -> None:
    _compare(pytester).assert_outcomes(passed=1)


def test_a_corrupt_meta_json_names_the_file(pytester: pytest.Pytester, saved: Path) -> None:
    (saved / "meta.json").write_text("{not json")
    result = _compare(pytester)
    assert_breakage_reported(
        result, ["[[]carry_over] *victim/*.saved/meta.json is unreadable: JSONDecodeError*"]
    )


def test_a_truncated_weights_file_is_a_refusal_naming_format_and_loader(
    pytester: pytest.Pytester, saved: Path
) -> None:
    target = saved / "weights" / "model.weights.h5"
    target.write_bytes(target.read_bytes()[:200])
    result = _compare(pytester)
    assert_breakage_reported(result, ["[[]carry_over] weights.load_weights (written by TF *): refused: *"])


def test_a_missing_file_is_a_refusal(pytester: pytest.Pytester, saved: Path) -> None:
    (saved / "json" / "model.json").unlink()
    result = _compare(pytester)
    assert_breakage_reported(
        result, ["[[]carry_over] json.model_from_json (written by TF *): refused: *model.json*"]
    )


def test_artifacts_of_another_kit_version_are_refused(pytester: pytest.Pytester, saved: Path) -> None:
    meta = json.loads((saved / "meta.json").read_text())
    (saved / "meta.json").write_text(json.dumps({**meta, "format": 99}))
    result = _compare(pytester)
    assert_breakage_reported(
        result, ["*meta.json: artifact format 99, this kit reads format 1 (another kit version?)"]
    )


def test_a_meta_json_from_elsewhere_is_a_finding_not_a_crash(pytester: pytest.Pytester, saved: Path) -> None:
    meta = json.loads((saved / "meta.json").read_text())
    (saved / "meta.json").write_text(json.dumps({**meta, "written": {**meta["written"], "floppy": "ok"}}))
    result = _compare(pytester)
    assert_breakage_reported(result, ["*meta.json: unknown format 'floppy' (another kit version?)"])
    (saved / "meta.json").write_text(json.dumps({**meta, "writer": "TF 2.15"}))
    result = _compare(pytester)
    assert_breakage_reported(
        result, ["*meta.json: no 'writer' and 'written' tables: not this kit's artifacts"]
    )


def test_nothing_is_loaded_from_outside_the_given_folder(
    pytester: pytest.Pytester, saved: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    saved.rename(outside)
    os.symlink(outside, saved)
    result = _compare(pytester)
    assert_breakage_reported(result, ["[[]carry_over] *victim/*.saved leads outside base: refused"])


def test_a_missing_entry_with_a_baseline_folder_fails(pytester: pytest.Pytester, saved: Path) -> None:
    import shutil

    shutil.rmtree(saved)
    result = _compare(pytester)
    assert_breakage_reported(
        result, ["[[]carry_over] no saved models for this item in *base: *does not exist*"]
    )


TFLITE = """
[[case]]
id = "victim"
layer = "lstm"
batch = 2
timesteps = 4
features = 3
units = 4
paths = ["fused_layer"]
contexts = ["functional"]
dtypes = ["float32"]
devices = ["cpu"]
expect = { saving = ["tflite"], tflite = "fused", checks = ["round_trip"] }
"""


def test_expect_tflite_fused_holds_on_keras_2_and_fails_on_keras_3(
    pytester: pytest.Pytester, tf: ModuleType
) -> None:
    """The converter fuses Keras 2's LSTM and makes a WHILE loop of Keras 3's: the same case is green on one,
    red (naming the op set) on the other — the expectation is observed, not assumed."""
    result = run_broken(pytester, TFLITE)
    from conformance.run import tfenv

    if tfenv.load().flavour == "keras3":
        assert_breakage_reported(
            result,
            [
                "[[]round_trip] tflite.interpreter: the converted model is 'loop', the case expects "
                "'fused': its ops "
                "are *WHILE*"
            ],
        )
    else:
        result.assert_outcomes(passed=1)


def test_expect_tflite_needs_tflite_in_saving(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", victim=TFLITE.replace('saving = ["tflite"]', 'saving = ["keras"]'))
    result = pytester.runpytest("--co", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*expect.tflite*add 'tflite' to saving*"])
