"""Known divergences are strict and excuse only what they name: declared and happening → xfail with the
reason; declared and gone → fail; a finding they do not name (another check, another subject, other
steps, another message) → fail; a raise of a base class of the declared one → fail.

Runs real items on TensorFlow. Each case is chosen to behave the same on every TF/Keras release (the
conditions say ``tf = ">=0"``, or name the flavour this run has), so the tests pass on Keras 2 and 3 alike.
"""

from __future__ import annotations

import textwrap
from types import ModuleType

import pytest
from conftest import assert_breakage_reported, flavour, run_broken
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
            f"XFAIL cases.toml::raising[[]{p}-call-eager-float32-cpu[]] - *raises "
            f"TypeError*nonsense*{REASON}*"
            for p in PATHS
        ],
        consecutive=False,
    )


def test_declared_raise_matches_a_module_qualified_name(pytester: pytest.Pytester) -> None:
    text = case_file(
        "raising", RAISING, f'raises = "builtins.TypeError"\nmatch = "nonsense"\nreason = "{REASON}"'
    )
    run(pytester, text).assert_outcomes(xfailed=3)


def test_declared_raise_of_a_base_class_does_not_match(pytester: pytest.Pytester) -> None:
    """``raises`` names the exact class: Exception (a base class of the TypeError raised) excuses nothing."""
    text = case_file("raising", RAISING, f'raises = "Exception"\nmatch = "nonsense"\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        ["*raised TypeError:*nonsense*", "*declared instead: raises Exception matching*"]
    )


def test_declared_raise_that_does_not_happen_fails_as_gone(pytester: pytest.Pytester) -> None:
    """Declared TypeError on a case that runs fine: each item fails, saying the divergence is gone."""
    text = case_file("fine", "", f'raises = "TypeError"\nmatch = "x"\nreason = "{REASON}"')
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [f"*known divergence is gone: declared that this item raises TypeError*returned normally*{REASON}*"]
    )
    assert result.stdout.str().count("known divergence is gone") == 3


def test_declared_raise_of_another_class_fails_naming_both(pytester: pytest.Pytester) -> None:
    """TypeError happens, ValueError was declared: fails, naming what was raised and what was declared."""
    text = case_file("raising", RAISING, f'raises = "ValueError"\nmatch = "nonsense"\nreason = "{REASON}"')
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


def test_declared_difference_that_happens_is_xfailed(pytester: pytest.Pytester) -> None:
    """``differs`` naming the values check's output, when it differs: xfail with the reason and numbers."""
    text = case_file(
        "pinned", PINNED_WRONG, f'differs = [{{ check = "values", what = ["output"] }}]\nreason = "{REASON}"'
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=3)
    result.stdout.fnmatch_lines(
        [f"XFAIL cases.toml::pinned[[]*[]] - known divergence: differs in values of output: {REASON}"]
    )


def test_declared_difference_that_is_gone_fails(pytester: pytest.Pytester) -> None:
    """``differs`` on a case that agrees with the oracle: fails, the divergence is gone."""
    text = case_file(
        "agrees",
        'expect = { checks = ["shape", "agreement"] }\n',
        f'differs = [{{ check = "agreement", what = ["output"] }}]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*known divergence is gone: declared that agreement of output differs, but it does not "
            "(differs in*" + REASON + "*"
        ]
    )


def test_undeclared_check_failure_is_not_excused(pytester: pytest.Pytester) -> None:
    """A divergence naming one check does not cover another check that fails."""
    text = case_file(
        "pinned",
        PINNED_WRONG,
        f'differs = [{{ check = "agreement", what = ["output"] }}]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*known divergence is gone*", "*[[]values[]] output of * vs expect.output*"])


# Zero weights, zero state: every output is 0 and so is every state. Pinned: the output at step 1 and h.
PINNED_STEP_AND_STATE = (
    'weights = { kind = "constant", value = 0.0 }\noptions = { return_sequences = true, '
    "return_state = true }\n"
    'expect = { checks = ["values"], output = [[[0.0, 0.0], [1.0, 0.0]]], states = [[[0.5, 0.0]], '
    "[[0.0, 0.0]]] }\n"
)


def test_a_divergence_excuses_only_the_subjects_it_names(pytester: pytest.Pytester) -> None:
    """The output is excused; the final h, pinned wrong too but not named, still fails the item."""
    text = case_file(
        "pinned",
        PINNED_STEP_AND_STATE,
        f'differs = [{{ check = "values", what = ["output"] }}]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*[[]values[]] final h vs expect.states*"])
    result.stdout.no_fnmatch_line("*[[]values[]] output of*")


@pytest.mark.parametrize(("steps", "outcome"), [("[1]", "xfailed"), ("[0, 1]", "failed"), ("[0]", "failed")])
def test_declared_steps_must_be_exactly_the_differing_steps(
    pytester: pytest.Pytester, steps: str, outcome: str
) -> None:
    """The output differs at step 1 only: steps = [1] is the divergence; [0, 1] or [0] is not."""
    text = case_file(
        "pinned",
        PINNED_STEP_AND_STATE,
        f'differs = [{{ check = "values", what = ["output"], steps = {steps} }}, '
        f'{{ check = "values", what = ["state.h"] }}]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(**{outcome: 3})
    if outcome == "failed":
        shown = "".join({"[": "[[]", "]": "[]]"}.get(c, c) for c in steps)  # brackets, literally, for fnmatch
        result.stdout.fnmatch_lines(
            [
                f"*declared that values of output at steps {shown} differs, but values:output "
                f"differs at steps 1*"
            ]
        )


def test_a_message_pattern_narrows_what_is_excused(pytester: pytest.Pytester) -> None:
    text = case_file(
        "pinned",
        PINNED_WRONG,
        'differs = [{ check = "values", what = ["output"], match = "not in this message" }]\n'
        f'reason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*known divergence is gone*", "*[[]values[]] output of*"])


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
    text = case_file(
        "fine", "", f'when = {{ {when} }}\nraises = "TypeError"\nmatch = "x"\nreason = "{REASON}"'
    )
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
        f'when = {{ {when.format(other=others)} }}\nraises = "TypeError"\nmatch = '
        f'"nonsense"\nreason = "{REASON}"',
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
        f'raises = "TypeError"\nmatch = "nonsense"\nreason = "{REASON}"',
    )
    run(pytester, text).assert_outcomes(xfailed=3)


def test_paths_limits_a_raise_to_one_path(pytester: pytest.Pytester) -> None:
    """``paths = ["manual_loop"]``: that item xfails; the other paths' raise is a finding."""
    text = case_file(
        "raising",
        RAISING,
        f'paths = ["manual_loop"]\nraises = "TypeError"\nmatch = "nonsense"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "XFAIL cases.toml::raising[[]manual_loop-call-eager-float32-cpu[]]*",
            "FAILED cases.toml::raising[[]rnn_wrapper-call-eager-float32-cpu[]]*",
            "FAILED cases.toml::raising[[]fused_layer-call-eager-float32-cpu[]]*",
        ],
        consecutive=False,
    )


def test_paths_limits_a_gone_divergence_to_one_path(pytester: pytest.Pytester) -> None:
    """A declaration for rnn_wrapper on a fine case: only rnn_wrapper fails as gone, the others pass."""
    text = case_file(
        "fine", "", f'paths = ["rnn_wrapper"]\nraises = "TypeError"\nmatch = "x"\nreason = "{REASON}"'
    )
    result = run(pytester, text)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED cases.toml::fine[[]rnn_wrapper-call-eager-float32-cpu[]]*"])
    assert result.stdout.str().count("known divergence is gone") == 1


def test_gone_raise_names_the_call_under_test(pytester: pytest.Pytester) -> None:
    """The "gone" message names the path's own call (``layer(x)``), not an internal probe."""
    text = case_file(
        "fine", 'paths = ["fused_layer"]\n', f'raises = "TypeError"\nmatch = "x"\nreason = "{REASON}"'
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*known divergence is gone:*, but layer(x) returned normally*"])


# -- instead: the known behaviour a divergence says the layer follows, checked --------------------------

MASKED = """
[[case]]
id = "victim"
batch = 2
timesteps = 3
features = 2
units = 3
paths = ["rnn_wrapper"]
devices = ["cpu"]
mask = { lengths = [3, 1] }
initial_state = { kind = "random" }
options = { return_sequences = true, return_state = true }

[[case.divergence]]
differs = [
    { check = "agreement", what = ["output", "state.*"] },
    { check = "gradient", what = ["inputs", "state.*", "kernel", "recurrent_kernel", "bias"] },
    { check = "initial_state", what = ["custom.output", "custom.state.*", "own_layer.custom.*"] },
]
instead = "mask_dropped"
reason = "THE-DECLARED-REASON"
"""
DROP_MASK = """
orig = K.layers.RNN.__call__
def call(self, inputs, *args, mask=None, **kwargs):
    out = orig(self, inputs, *args, **kwargs)
    return [out[0] + OFFSET, *out[1:]]
K.layers.RNN.__call__ = call
"""


def test_a_layer_that_does_what_the_divergence_says_instead_is_an_xfail(pytester: pytest.Pytester) -> None:
    """A wrapper that drops its mask, declared as 'mask_dropped': every named comparison matches the oracle
    run without the mask, so the divergence holds."""
    result = run_broken(pytester, MASKED, "OFFSET = 0.0\n" + DROP_MASK, "-rx")
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "XFAIL victim.toml::victim*known divergence: differs in agreement of output*following "
            "'mask_dropped'*"
        ]
    )


def test_a_layer_that_differs_otherwise_fails_naming_the_declared_behaviour(
    pytester: pytest.Pytester,
) -> None:
    """The same wrapper also shifting its output by 1e-3: the outputs differ from the oracle (as declared)
    but do not follow 'mask_dropped' either, so the item fails and says so, with the numbers."""
    result = run_broken(pytester, MASKED, "OFFSET = 1e-3\n" + DROP_MASK)
    assert_breakage_reported(
        result,
        [
            "*declared that agreement:output follows 'mask_dropped' instead "
            "(*THE-DECLARED-REASON*), but it does "
            "not match that either:",
            "output of layer(x, mask=mask, initial_state=[[]h, c[]]) vs oracle without the mask "
            "('mask_dropped'): *",
        ],
    )


def shared_file(cases: dict[str, str], *shared: str) -> str:
    """Cases (id -> body) and the file's top-level [[divergence]] tables."""
    text = "".join(case_file(case_id, body) + "\n" for case_id, body in cases.items())
    return text + "".join("\n[[divergence]]\n" + textwrap.dedent(d).strip() + "\n" for d in shared)


def test_a_file_wide_divergence_applies_to_the_cases_it_names(pytester: pytest.Pytester) -> None:
    """A top-level [[divergence]] is each named case's own: it excuses there, and only there."""
    text = shared_file(
        {"pinned-a": PINNED_WRONG, "pinned-b": PINNED_WRONG},
        f'cases = ["pinned-a"]\ndiffers = [{{ check = "values", what = ["output"] }}]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=3, failed=3)
    result.stdout.fnmatch_lines(
        [f"XFAIL cases.toml::pinned-a[[]{p}-*[]] - known divergence: *{REASON}" for p in PATHS],
        consecutive=False,
    )
    result.stdout.fnmatch_lines([f"FAILED cases.toml::pinned-b[[]{p}-*" for p in PATHS], consecutive=False)


def test_a_file_wide_divergence_is_as_strict_as_a_case_s_own(pytester: pytest.Pytester) -> None:
    """With no ``cases`` it applies to every case of the file: where it does not happen, the item fails as
    gone; it adds to a case's own divergences (which still excuse what they name)."""
    text = shared_file(
        {
            "pinned": PINNED_WRONG,
            "agrees": 'expect = { checks = ["shape", "agreement"] }\n',
            "raising": RAISING,
        },
        f'differs = [{{ check = "values", what = ["output"] }}]\nreason = "{REASON}"',
    )
    text = text.replace(
        RAISING, RAISING + '[[case.divergence]]\nraises = "TypeError"\nmatch = "nonsense"\nreason = "OWN"\n'
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=6, failed=3)
    result.stdout.fnmatch_lines(["FAILED cases.toml::agrees[[]*"])
    gone = "known divergence is gone: declared that values of output differs, but it does not"
    assert result.stdout.str().count(gone) == 3, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["XFAIL cases.toml::raising[[]*[]] - known divergence: raises TypeError*OWN*"]
    )
