"""Known divergences are strict: declared and happening → xfail with the reason; declared and gone → fail.

Runs real items on TensorFlow. Each case is chosen to behave the same on every TF/Keras release (the
conditions say ``tf = ">=0"``, or name the flavour this run has), so the tests pass on Keras 2 and 3 alike.
"""

from __future__ import annotations

import textwrap
from types import ModuleType

import pytest
from conftest import flavour
from conftest import run_cases as run

pytestmark = pytest.mark.requires_tf

PATHS = ("manual_loop", "rnn_wrapper", "fused_layer")
HEAD = 'id = "{id}"\nbatch = 1\ntimesteps = 2\nfeatures = 2\nunits = 2\ndevices = ["cpu"]\n'
# get_initial_state with an argument no Keras has: a TypeError on every path, flavour and release.
RAISING = 'initial_state = { kind = "get_initial_state", args = { nonsense = 1 } }\n'
# All-zero weights make every output exactly 0 (c = f*0 + i*tanh(0) = 0, h = o*tanh(0) = 0): a pinned 1.0
# fails the values check on every path, whatever the release's numerics.
PINNED_WRONG = (
    'weights = { kind = "constant", value = 0.0 }\nexpect = { checks = ["values"], output = [[1.0, 0.0]] }\n'
)
REASON = "THE-DECLARED-REASON"


def case_file(case_id: str, body: str, *divergences: str) -> str:
    """One [[case]] with its [[case.divergence]] tables."""
    text = "[[case]]\n" + HEAD.format(id=case_id) + textwrap.dedent(body)
    for d in divergences:
        text += "\n[[case.divergence]]\n" + textwrap.dedent(d).strip() + "\n"
    return text


def test_declared_raise_that_happens_is_xfailed_with_reason(pytester: pytest.Pytester) -> None:
    """A ``raises`` that matches class and message: xfail, reason shown by -rx."""
    text = case_file(
        "raising",
        RAISING,
        f'when = {{ tf = ">=0" }}\nraises = "TypeError"\nmatch = "nonsense"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=3)
    result.stdout.fnmatch_lines(
        [
            f"XFAIL cases.toml::raising[[]{p}-eager-float32-cpu[]] - *raises TypeError*nonsense*{REASON}*"
            for p in PATHS
        ],
        consecutive=False,
    )


@pytest.mark.parametrize("name", ["Exception", "builtins.TypeError"])
def test_declared_raise_matches_base_classes_and_qualified_names(
    pytester: pytest.Pytester, name: str
) -> None:
    text = case_file("raising", RAISING, f'raises = "{name}"\nreason = "{REASON}"')
    run(pytester, text).assert_outcomes(xfailed=3)


def test_declared_raise_that_does_not_happen_fails_as_gone(pytester: pytest.Pytester) -> None:
    """Declared TypeError on a case that runs fine: each item fails, saying the divergence is gone."""
    text = case_file("fine", "", f'raises = "TypeError"\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [f"*known divergence is gone: declared that this item raises TypeError*{REASON}*returned normally*"]
    )
    assert result.stdout.str().count("known divergence is gone") == 3


def test_declared_raise_of_another_class_fails_naming_both(pytester: pytest.Pytester) -> None:
    """TypeError happens, ValueError was declared: fails, naming what was raised and what was declared."""
    text = case_file("raising", RAISING, f'raises = "ValueError"\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*get_initial_state(nonsense=1) raised TypeError:*nonsense*",
            f"*declared instead: raises ValueError*{REASON}*",
        ]
    )


def test_declared_raise_with_a_message_that_does_not_match_fails(pytester: pytest.Pytester) -> None:
    text = case_file(
        "raising", RAISING, f'raises = "TypeError"\nmatch = "^something else$"\nreason = "{REASON}"'
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*raised TypeError:*", "*declared instead: raises TypeError matching*"])


def test_declared_failing_check_that_fails_is_xfailed(pytester: pytest.Pytester) -> None:
    """``fails = ["values"]`` when values does fail: xfail with the reason and the check's numbers."""
    text = case_file("pinned", PINNED_WRONG, f'fails = ["values"]\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(xfailed=3)
    result.stdout.fnmatch_lines(
        [f"XFAIL cases.toml::pinned[[]*[]] - known divergence: fails values: {REASON}"]
    )


def test_declared_failing_check_that_passes_fails_as_gone(pytester: pytest.Pytester) -> None:
    """``fails = ["agreement"]`` on a case that agrees with the oracle: fails, the divergence is gone."""
    text = case_file(
        "agrees",
        'expect = { checks = ["shape", "agreement"] }\n',
        f'fails = ["agreement"]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        ["*known divergence is gone: check 'agreement' was declared to fail (fails agreement*" + REASON + "*"]
    )


def test_undeclared_check_failure_is_not_excused(pytester: pytest.Pytester) -> None:
    """A ``fails`` divergence for one check does not cover another check that fails."""
    text = case_file("pinned", PINNED_WRONG, f'fails = ["agreement"]\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*[[]values[]] output of * vs expect.output*", "*known divergence is gone*"])


@pytest.mark.parametrize(
    "when",
    [
        'tf = "<1"',
        'keras = ">=99"',
        'device = ["gpu"]',
        'dtype = ["float64"]',
        "flavour = [{other}]",
    ],
)
def test_divergence_whose_when_does_not_match_is_ignored(
    pytester: pytest.Pytester, tf: ModuleType, when: str
) -> None:
    """A non-matching condition: the declaration is ignored, so the fine case passes..."""
    others = ", ".join(f'"{f}"' for f in ("keras2", "keras3", "tf_keras") if f != flavour(tf))
    when = when.format(other=others)
    text = case_file("fine", "", f'when = {{ {when} }}\nraises = "TypeError"\nreason = "{REASON}"')
    run(pytester, text).assert_outcomes(passed=3)


@pytest.mark.parametrize("when", ['tf = "<1"', "flavour = [{other}]"])
def test_non_matching_divergence_does_not_excuse_a_raise(
    pytester: pytest.Pytester, tf: ModuleType, when: str
) -> None:
    """...and the raising case fails: the raise is reported as a finding, not excused."""
    others = ", ".join(f'"{f}"' for f in ("keras2", "keras3", "tf_keras") if f != flavour(tf))
    text = case_file(
        "raising",
        RAISING,
        f'when = {{ {when.format(other=others)} }}\nraises = "TypeError"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*raised TypeError*"])
    assert "declared instead" not in result.stdout.str()


def test_divergence_for_this_flavour_and_version_applies(pytester: pytest.Pytester, tf: ModuleType) -> None:
    """Conditions naming this run's flavour and TF version match."""
    version = tf.__version__.split("-")[0]
    text = case_file(
        "raising",
        RAISING,
        f'when = {{ flavour = ["{flavour(tf)}"], tf = "=={version}", device = ["cpu"], '
        'dtype = ["float32"] }\n'
        f'raises = "TypeError"\nreason = "{REASON}"',
    )
    run(pytester, text).assert_outcomes(xfailed=3)


def test_paths_limits_a_raise_to_one_path(pytester: pytest.Pytester) -> None:
    """``paths = ["manual_loop"]``: that item xfails; the other paths' raise is a finding."""
    text = case_file(
        "raising", RAISING, f'paths = ["manual_loop"]\nraises = "TypeError"\nreason = "{REASON}"'
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "XFAIL cases.toml::raising[[]manual_loop-eager-float32-cpu[]]*",
            "FAILED cases.toml::raising[[]rnn_wrapper-eager-float32-cpu[]]*",
            "FAILED cases.toml::raising[[]fused_layer-eager-float32-cpu[]]*",
        ],
        consecutive=False,
    )


def test_paths_limits_a_gone_divergence_to_one_path(pytester: pytest.Pytester) -> None:
    """A declaration for rnn_wrapper on a fine case: only rnn_wrapper fails as gone, the others pass."""
    text = case_file("fine", "", f'paths = ["rnn_wrapper"]\nraises = "TypeError"\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED cases.toml::fine[[]rnn_wrapper-eager-float32-cpu[]]*"])
    assert result.stdout.str().count("known divergence is gone") == 1


def test_gone_raise_names_the_call_under_test(pytester: pytest.Pytester) -> None:
    """The "gone" message names the path's own call (``layer(x)``), not an internal probe."""
    text = case_file("fine", 'paths = ["fused_layer"]\n', f'raises = "TypeError"\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*known divergence is gone:*, but layer(x) returned normally*"])
