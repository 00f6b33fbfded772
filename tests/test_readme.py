"""README's example outputs are real output of the current code: each is re-run here and compared.

The failure example is TF 2.21's (its numbers and kernel are that release's); on another release the
comparison is skipped, saying why. Its text is compared exactly and its numbers up to the last printed
digit: float32 results differ by an ulp between CPUs (seen between two CI machines), which moves a printed
seventh digit but nothing a reader acts on.
"""

from __future__ import annotations

import math
import re
from types import ModuleType

import pytest
from conftest import REPO, run_broken

pytestmark = pytest.mark.requires_tf

README = (REPO / "README.md").read_text(encoding="utf-8")

VICTIM = """
[[case]]
id = "victim"
layer = "lstm"
batch = 2
timesteps = 4
features = 3
units = 4
dtypes = ["float32"]
options = { return_sequences = true, return_state = true }
initial_state = { kind = "random" }
"""
# A shift that grows along the flattened output (1e-3 to 2e-3): with one constant shift every element's
# error is the same up to rounding, and which one is "max abs error at" would depend on the CPU's last bit.
SHIFTED = """
import numpy as np
orig = K.layers.LSTM.__call__
def shifted(out):
    return out + np.linspace(1e-3, 2e-3, int(np.prod(out.shape)), dtype="float32").reshape(out.shape)
def call(self, *a, **kw):
    out = orig(self, *a, **kw)
    return [shifted(out[0]), *out[1:]] if isinstance(out, (list, tuple)) else shifted(out)
K.layers.LSTM.__call__ = call
"""
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _block(starting: str) -> list[str]:
    """The fenced block of README.md whose first line starts with ``starting``."""
    for block in re.findall(r"```[a-z]*\n(.*?)```", README, re.DOTALL):
        if block.startswith(starting):
            return block.rstrip("\n").splitlines()
    raise AssertionError(f"README.md has no block starting {starting!r}")


def _assert_same_output(got: list[str], shown: list[str]) -> None:
    """Line for line: the words exactly, each number within 0.2 % (rounding in its last printed digit)."""
    __tracebackhide__ = True
    assert len(got) == len(shown), "\n".join(got)
    for i, (line, want) in enumerate(zip(got, shown)):
        same_words = NUMBER.split(line) == NUMBER.split(want)
        numbers = list(zip(NUMBER.findall(line), NUMBER.findall(want)))
        close = all(math.isclose(float(a), float(b), rel_tol=2e-3, abs_tol=1e-12) for a, b in numbers)
        assert same_words and close, f"line {i} differs from README:\n  run:    {line}\n  README: {want}"


def test_the_failure_example_is_real_output(pytester: pytest.Pytester, tf: ModuleType) -> None:
    if not tf.__version__.startswith("2.21."):
        pytest.skip(f"README's example is TF 2.21's output; this is TF {tf.__version__}")
    result = run_broken(pytester, VICTIM, SHIFTED, "--conformance-devices=cpu", "-k", "fused")
    out = result.stdout.str().replace(f"({pytester.path}/victim.toml:2)", "(victim.toml:2)").splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("case 'victim'"))
    end = next(i for i in range(start, len(out)) if out[i].startswith("====="))
    _assert_same_output(out[start:end], _block("case 'victim'"))


def test_the_header_example_is_real_output(pytester: pytest.Pytester, tf: ModuleType) -> None:
    """The report header README shows is what a run prints, line for line (environment facts aside)."""
    shown = _block("conformance: ")
    pytester.makefile(".toml", c=VICTIM)
    header = [
        line
        for line in pytester.runpytest("--co", "-p", "no:cacheprovider").outlines
        if line.startswith("conformance: ")
    ]
    assert len(header) == len(shown)
    for got, want in zip(header, shown):
        assert re.sub(r"[\d.]+", "N", got.split(",")[0]) == re.sub(r"[\d.]+", "N", want.split(",")[0]), (
            got,
            want,
        )


MODEL_VICTIM = """
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
expect = { checks = ["train_step"] }
"""
BIAS_FLIPPED = """
orig = K.optimizers.SGD.apply_gradients
def apply_gradients(self, grads_and_vars, *a, **kw):
    flipped = [(-g if "bias" in v.name else g, v) for g, v in grads_and_vars]
    return orig(self, flipped, *a, **kw)
K.optimizers.SGD.apply_gradients = apply_gradients
"""


def test_the_train_step_example_is_real_output(pytester: pytest.Pytester, tf: ModuleType) -> None:
    """docs/case-format.md's broken-training-step example is what a run prints, line for line."""
    if not tf.__version__.startswith("2.21."):
        pytest.skip(f"the example is TF 2.21's output; this is TF {tf.__version__}")
    page = (REPO / "docs" / "case-format.md").read_text(encoding="utf-8")
    shown = (
        next(b for b in re.findall(r"```[a-z]*\n(.*?)```", page, re.DOTALL) if b.startswith("case 'victim'"))
        .rstrip("\n")
        .splitlines()
    )
    result = run_broken(pytester, MODEL_VICTIM, BIAS_FLIPPED, "--conformance-devices=cpu")
    out = result.stdout.str().replace(f"({pytester.path}/victim.toml:2)", "(victim.toml:2)").splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("case 'victim'"))
    end = next(i for i in range(start, len(out)) if out[i].startswith("====="))
    assert out[start:end] == shown
