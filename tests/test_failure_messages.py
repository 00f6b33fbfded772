"""A failing item reads as a bug report: which case, path, dtype, device, file:line, calls, numbers.

Items are made to fail through the case file alone (a wrong pinned number, a zero tolerance), never by
patching anything, and the report must carry no Python traceback from the kit.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from conftest import assert_no_kit_traceback

pytestmark = pytest.mark.requires_tf

# All-zero weights make the output exactly 0 on every path and release (c = i*tanh(0) = 0, h = o*tanh(0)).
PINNED = """\
# the pinned number below is wrong on purpose
[[case]]
id = "pinned-wrong"
batch = 1
timesteps = 2
features = 1
units = 2
paths = ["fused_layer"]
devices = ["cpu"]
weights = { kind = "constant", value = 0.0 }
[case.expect]
checks = ["values"]
output = [[1.0, 0.0]]
atol = 1e-6
rtol = 0
"""

FLOAT16 = """\
[[case]]
id = "half-exact"
batch = 2
timesteps = 3
features = 2
units = 2
dtypes = ["float16"]
paths = ["rnn_wrapper"]
devices = ["cpu"]
initial_state = { kind = "random" }
expect = { checks = ["agreement"], tolerance = { atol = 0, rtol = 0 } }
"""

TINY = """\
[[case]]
id = "tiny"
batch = 1
timesteps = 2
features = 2
units = 2
paths = ["manual_loop"]
expect = { checks = ["shape", "agreement"] }
"""


def run(pytester: pytest.Pytester, text: str, *args: str) -> pytest.RunResult:
    path = pytester.makefile(".toml", msgs=text)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rfs", *args)
    output = result.stdout.str()
    assert_no_kit_traceback(output)
    assert str(path) in output or "msgs.toml" in output
    return result


def no_gpu(tf: ModuleType) -> None:
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible: the no-GPU behaviour cannot be observed here")


def test_wrong_pinned_output_reads_as_a_bug_report(pytester: pytest.Pytester) -> None:
    """A values failure: header, location, calls made, the call, and the numbers with the tolerance."""
    result = run(pytester, PINNED)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ pinned-wrong [[]fused_layer-call-eager-float32-cpu[]] _*",
            "case 'pinned-wrong' · path fused_layer · mode eager · dtype float32 · device cpu "
            "*(*msgs.toml:3)",
            "*environment: TF *",
            "*calls made:",
            "*layer = keras.layers.LSTM(2, *",
            "    layer(x*",
            "[[]values[]] output of layer(x) vs expect.output: 1 of 2 elements differ (50.0%) "
            "beyond atol=1e-06, rtol=0",
            "  max abs error 1 at (0, 0): got 0, expected 1",
            "*first differing indices: (0, 0)",
        ]
    )
    result.stdout.fnmatch_lines(["FAILED msgs.toml::pinned-wrong[[]fused_layer-call-eager-float32-cpu[]]*"])


def test_float16_with_zero_tolerance_fails_agreement(pytester: pytest.Pytester) -> None:
    """float16 against the float64 oracle at atol=rtol=0: agreement fails with the numbers."""
    result = run(pytester, FLOAT16)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "case 'half-exact' · path rnn_wrapper · mode eager · dtype float16 · device cpu *(*msgs.toml:2)",
            "*calls made:",
            "*layer = keras.layers.RNN(cell, *dtype='float16')",
            "    layer(x, initial_state=[[]h, c[]])",
            "[[]agreement[]] output of layer(x, initial_state=[[]h, c[]]) vs oracle: * of 4 elements differ "
            "* beyond atol=0, rtol=0",
            "  max abs error * at (*): got *, expected *",
            "*first differing indices: (*",
        ]
    )
    assert "[shape]" not in result.stdout.str()  # only the listed check runs


def test_variant_is_named_in_the_report(pytester: pytest.Pytester) -> None:
    """A matrix variant's failure names the variant, so the failing combination can be rerun."""
    text = PINNED.replace("[case.expect]", "[case.matrix]\nreturn_state = [true]\n[case.expect]")
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "case 'pinned-wrong' variant return_state=true · path fused_layer · mode eager · dtype float32 "
            "· device cpu *"
        ]
    )


def test_exception_from_keras_is_a_report_not_a_traceback(pytester: pytest.Pytester) -> None:
    """A Keras call that raises (undeclared): the call, the exception, the calls made; no traceback."""
    text = (
        TINY + 'initial_state = { kind = "get_initial_state", args = { nonsense = 1 } }\ndevices = ["cpu"]\n'
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*calls made:",
            "    cell.get_initial_state(nonsense=1)",
            "cell.get_initial_state(nonsense=1) raised TypeError: *",
        ]
    )


def test_gpu_items_skip_without_a_gpu(pytester: pytest.Pytester, tf: ModuleType) -> None:
    """Default devices: gpu items skip, with a reason saying no GPU is visible, at the case's location."""
    no_gpu(tf)
    result = run(pytester, TINY)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] msgs.toml:2: no GPU visible to TensorFlow*"])


@pytest.mark.parametrize(("devices", "passed"), [("gpu", 0), ("cpu,gpu", 1)])
def test_requested_gpu_missing_fails(
    pytester: pytest.Pytester, tf: ModuleType, devices: str, passed: int
) -> None:
    """gpu named explicitly: a missing GPU is a failure of each gpu item, saying no GPU is visible."""
    no_gpu(tf)
    result = run(pytester, TINY, f"--conformance-devices={devices}")
    result.assert_outcomes(passed=passed, failed=1)
    result.stdout.fnmatch_lines(["*_ tiny [[]manual_loop-call-eager-float32-gpu[]] _*", "*gpu*no GPU*"])
