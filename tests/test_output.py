"""What a run prints: the header under ``-q``, a green run's short summary, TF's and Keras's noise filtered.

These run the plugin through pytester; none of them needs TensorFlow (the header reads package metadata).
"""

from __future__ import annotations

import pytest

CASE = """
[[case]]
id = "c"
layer = "lstm"
batch = 2
timesteps = 3
features = 2
units = 2
"""

XFAILS = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_declared(n):
    pytest.xfail("known divergence: Keras does X: because Y (https://x.org)\\n[agreement] 8 of 8 differ")

def test_other():
    pytest.xfail("known divergence: Keras does Z: because W")

@pytest.mark.parametrize("n", range(4))
def test_gpu(n):
    pytest.skip("no GPU visible to TensorFlow")
"""


def test_the_header_shows_under_quiet(pytester: pytest.Pytester) -> None:
    """tox runs ``-q``, which hides pytest's report header; what is under test is printed anyway."""
    pytester.makefile(".toml", c=CASE)
    result = pytester.runpytest("-q", "--co", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["conformance: *", "conformance: python *"])
    assert pytester.runpytest("-q", "--co", "--no-header", "-p", "no:cacheprovider").stdout.lines[0][:12] != (
        "conformance:"
    )


def test_a_green_run_ends_in_a_short_summary(pytester: pytest.Pytester) -> None:
    """Declared divergences grouped by reason with counts, skips as one line; each item one flag away."""
    pytester.makepyfile(test_x=XFAILS)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "*conformance: 4 items are declared divergences (xfailed; -rx lists each)*",
            "   3 × known divergence: Keras does X: because Y (https://x.org)",
            "   1 × known divergence: Keras does Z: because W",
            "conformance: 4 skipped (-rs lists each): 4 × no GPU visible to TensorFlow",
        ]
    )
    result.stdout.no_fnmatch_line("*8 of 8 differ*")
    detailed = pytester.runpytest("-q", "-rx", "-p", "no:cacheprovider")
    detailed.stdout.fnmatch_lines(["XFAIL test_x.py::test_declared[[]0[]]*"])


NOISY = """
import warnings

def test_noise():
    warnings.warn_explicit("keras noise", DeprecationWarning, "backend.py", 1, module="keras.src.backend")
    warnings.warn_explicit("tf noise", DeprecationWarning, "x.py", 1, module="tensorflow.python.x")
    warnings.warn_explicit(
        "non-integer arguments to randrange() have been deprecated", DeprecationWarning, "random.py", 362,
        module="random",
    )
    warnings.warn_explicit("the case's own", DeprecationWarning, "mycell.py", 1, module="mycell")
"""


def test_tensorflow_and_keras_noise_is_filtered_the_kits_and_cases_is_kept(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_w=NOISY)
    out = pytester.runpytest("-p", "no:cacheprovider").stdout.str()
    assert "the case's own" in out
    assert "keras noise" not in out and "tf noise" not in out and "randrange" not in out
    # a -W on the command line still wins over the kit's filters
    assert "keras noise" in pytester.runpytest("-p", "no:cacheprovider", "-W", "default").stdout.str()


class _Lite:
    """A stand-in for ``tf.lite``: its Interpreter warns as TF's does, then another warning of the kit's."""

    def __init__(self, notice: str) -> None:
        self.notice = notice

    def Interpreter(self, **source: object) -> str:  # TF's name
        import warnings

        warnings.warn(self.notice, UserWarning, stacklevel=2)
        warnings.warn("a warning that is not TF's notice", UserWarning, stacklevel=2)
        return "interpreter"


@pytest.mark.parametrize(
    "notice",
    [  # TF 2.18-2.19, then TF 2.20+ (tensorflow/lite/python/interpreter.py: _INTERPRETER_DELETION_WARNING)
        "    Warning: Please use the LiteRT interpreter from the ai_edge_litert package.\n"
        "    See the [migration guide](https://ai.google.dev/edge/litert/migration)\n    for details.\n    ",
        "    Warning: tf.lite.Interpreter is deprecated and is scheduled for deletion in\n"
        "    TF 2.20. Please use the LiteRT interpreter from the ai_edge_litert package.\n    ",
    ],
)
def test_tflites_move_notice_is_filtered_in_both_wordings_and_nothing_else(notice: str) -> None:
    import types
    import warnings

    from conformance.run.saving.tflite import _interpreter

    tf = types.SimpleNamespace(lite=_Lite(notice))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _interpreter(tf) == "interpreter"
    assert [str(w.message) for w in caught] == ["a warning that is not TF's notice"]
