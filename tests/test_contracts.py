"""API contracts (``[[contract]]``): one public call, judged against what it returns or raises.

Runs real contract items on TensorFlow through pytester. The calls used behave the same on every
TF/Keras release the kit supports (``LSTM(units=3)(x)`` returns one (2, 3) tensor for inputs (2, 5, 4);
``get_initial_state(nonsense=1)`` raises TypeError), and the conditions say ``tf = ">=0"`` or ``tf = "<1"``,
so every test passes on Keras 2 and Keras 3 alike. Only the shipped file's counts depend on the flavour,
which the test reads from TensorFlow itself.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from conftest import assert_no_kit_traceback, flavour
from conftest import run_cases as run
from packaging.version import Version

pytestmark = pytest.mark.requires_tf

SHIPPED = Path(__file__).resolve().parents[1] / "cases" / "api_contracts.toml"
REASON = "THE-DECLARED-REASON"

# keras.layers.LSTM(units=3)(x) on x of shape (2, 5, 4): one tensor of shape (2, 3), on every release.
LSTM_CALL = """\
layer = "LSTM"
args = { units = 3 }
inputs = [2, 5, 4]
call = "__call__"
"""
LSTM_SPELLED = "keras.layers.LSTM(units=3)(x)"
LSTM_RETURNS = 'expect = { returns = "tensor", shapes = [[2, 3]] }\n'

# keras.layers.LSTM(units=3, return_state=True)(x): output, h, c (a list on Keras 2, a tuple on Keras 3).
LSTM_STATE = """\
layer = "LSTM"
args = { units = 3, return_state = true }
inputs = [2, 5, 4]
call = "__call__"
"""

# keras.layers.LSTMCell(units=3).get_initial_state(nonsense=1): a TypeError on Keras 2 and Keras 3.
RAISING_CALL = """\
layer = "LSTMCell"
args = { units = 3 }
call = "get_initial_state"
call_args = { nonsense = 1 }
"""
RAISING_SPELLED = "keras.layers.LSTMCell(units=3).get_initial_state(nonsense=1)"


def contract_file(body: str, *divergences: str, contract_id: str = "k") -> str:
    """One [[contract]] with its [[contract.divergence]] tables."""
    text = f'[[contract]]\nid = "{contract_id}"\n' + textwrap.dedent(body)
    for d in divergences:
        text += "\n[[contract.divergence]]\n" + textwrap.dedent(d).strip() + "\n"
    return text


def problem_line(result: pytest.RunResult, *fragments: str) -> str:
    """The report line holding every fragment, in any order (the phrasing around them is free)."""
    found = [line for line in result.stdout.lines if all(f in line for f in fragments)]
    assert found, f"no line of the report holds all of {fragments}:\n{result.stdout.str()}"
    return found[0]


# -- collection ------------------------------------------------------------------------------------------


def test_a_contract_only_file_is_collected_with_its_markers(pytester: pytest.Pytester) -> None:
    """A .toml holding only [[contract]] is a case file; its item is ``<id>[contract]``, marked contract."""
    text = contract_file(LSTM_CALL + LSTM_RETURNS, contract_id="plain") + contract_file(
        LSTM_CALL + LSTM_RETURNS,
        f'when = {{ tf = "<1" }}\nraises = "E"\nmatch = "x"\nreason = "{REASON}"',
        contract_id="div",
    )
    pytester.makefile(".toml", cases=text)
    result = pytester.runpytest("--co", "-q", "-p", "no:cacheprovider", "-m", "contract and conformance")
    result.stdout.fnmatch_lines(["cases.toml::plain[[]contract[]]", "cases.toml::div[[]contract[]]"])
    result = pytester.runpytest("--co", "-q", "-p", "no:cacheprovider", "-m", "known_divergence")
    result.stdout.fnmatch_lines(["cases.toml::div[[]contract[]]", "*1/2 tests collected (1 deselected)*"])


# -- returns -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(LSTM_CALL + LSTM_RETURNS, id="tensor-and-shape"),
        pytest.param(
            LSTM_STATE + 'expect = { returns = "sequence", length = 3, shapes = [[2, 3], [2, 3], [2, 3]] }\n',
            id="sequence-length-shapes",
        ),
        pytest.param(
            'layer = "LSTM"\nargs = { units = 3 }\ncall = "new"\nexpect = { returns = "object" }\n',
            id="constructor",
        ),
        pytest.param(
            # get_weights is [] on a layer not built yet: prepare = "call" builds it first
            'layer = "LSTM"\nargs = { units = 3 }\ninputs = [2, 5, 4]\nprepare = "call"\n'
            'call = "get_weights"\n'
            'expect = { returns = "list", length = 3, shapes = [[4, 12], [3, 12], [12]] }\n',
            id="prepare-then-method",
        ),
        pytest.param(
            LSTM_CALL
            + "call_args = { initial_state = [{ tensor = [2, 3] }, { tensor = [2, 3] }] }\n"
            + LSTM_RETURNS,
            id="tensor-arguments",
        ),
    ],
)
def test_contract_that_holds_passes(pytester: pytest.Pytester, body: str) -> None:
    run(pytester, contract_file(body)).assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(
            LSTM_STATE + 'expect = { returns = "sequence", length = 2 }\n',
            "keras.layers.LSTM(units=3, return_state=True)(x) returned 3 item(s), expected 2",
            id="length",
        ),
        pytest.param(
            LSTM_CALL + 'expect = { returns = "tensor", shapes = [[2, 4]] }\n',
            f"{LSTM_SPELLED} returned shapes [[](2, 3)[]], expected [[](2, 4)[]]",
            id="shapes",
        ),
        pytest.param(
            LSTM_CALL + 'expect = { returns = "list" }\n',
            f"{LSTM_SPELLED} returned a tensor, expected a list",
            id="container",
        ),
        pytest.param(
            LSTM_STATE + 'expect = { returns = "tensor" }\n',
            "keras.layers.LSTM(units=3, return_state=True)(x) returned a *, expected a tensor",
            id="sequence-for-a-tensor",
        ),
    ],
)
def test_contract_returning_otherwise_fails_naming_the_call(
    pytester: pytest.Pytester, body: str, problem: str
) -> None:
    """The failure names the contract, the call as a user would spell it, and got vs expected."""
    result = run(pytester, contract_file(body))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "contract 'k'   (*cases.toml:2)",
            "  environment: TF *",
            "  call: keras.layers.LSTM(*",
            f"*{problem}*",
        ]
    )


def test_expected_raise_that_does_not_happen_fails(pytester: pytest.Pytester) -> None:
    result = run(pytester, contract_file(LSTM_CALL + 'expect = { raises = "ValueError" }\n'))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{LSTM_SPELLED} returned a tensor*, expected it to raise ValueError*"])


def test_raise_of_another_class_fails_naming_both(pytester: pytest.Pytester) -> None:
    """TypeError raised, ValueError stated: one line names the call, what was raised and what was stated."""
    result = run(pytester, contract_file(RAISING_CALL + 'expect = { raises = "ValueError" }\n'))
    result.assert_outcomes(failed=1)
    problem_line(result, RAISING_SPELLED, "raised TypeError", "nonsense", "ValueError")


@pytest.mark.parametrize("stated", ["TypeError", "builtins.TypeError"])
def test_raise_of_the_stated_class_passes(pytester: pytest.Pytester, stated: str) -> None:
    """``raises`` names the exact class, bare or module-qualified (as a divergence's does)."""
    body = RAISING_CALL + f'expect = {{ raises = "{stated}", match = "nonsense" }}\n'
    run(pytester, contract_file(body)).assert_outcomes(passed=1)


def test_raise_of_a_subclass_of_the_stated_class_fails(pytester: pytest.Pytester) -> None:
    """``raises = "Exception"`` is not met by a TypeError: a contract states the exact class."""
    body = RAISING_CALL + 'expect = { raises = "Exception", match = "nonsense" }\n'
    result = run(pytester, contract_file(body))
    result.assert_outcomes(failed=1)
    problem_line(result, RAISING_SPELLED, "raised TypeError", "expected Exception")


def test_raise_with_a_message_that_does_not_match_fails(pytester: pytest.Pytester) -> None:
    body = RAISING_CALL + 'expect = { raises = "TypeError", match = "^something else$" }\n'
    result = run(pytester, contract_file(body))
    result.assert_outcomes(failed=1)
    problem_line(result, RAISING_SPELLED, "raised TypeError", "nonsense")


def test_raise_with_a_message_that_does_not_match_names_the_pattern(pytester: pytest.Pytester) -> None:
    body = RAISING_CALL + 'expect = { raises = "TypeError", match = "^something else$" }\n'
    result = run(pytester, contract_file(body))
    result.assert_outcomes(failed=1)
    problem_line(result, RAISING_SPELLED, "raised TypeError", "'^something else$'")


def test_unexpected_raise_fails_naming_the_call(pytester: pytest.Pytester) -> None:
    """A contract stating what comes back, whose call raises instead: a finding, not a kit crash."""
    result = run(pytester, contract_file(RAISING_CALL + 'expect = { returns = "list" }\n'))
    result.assert_outcomes(failed=1)
    problem_line(result, RAISING_SPELLED, "raised TypeError", "nonsense")


# -- divergences -------------------------------------------------------------------------------------------


def test_declared_raise_that_happens_is_xfailed_with_reason(pytester: pytest.Pytester) -> None:
    text = contract_file(
        RAISING_CALL + 'expect = { returns = "list", length = 2 }\n',
        f'when = {{ tf = ">=0" }}\nraises = "TypeError"\nmatch = "nonsense"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(
        [
            f"XFAIL cases.toml::k[[]contract[]] - known divergence: raises TypeError matching 'nonsense' "
            f"when tf >=0: {REASON}"
        ]
    )


def test_declared_other_return_is_xfailed_with_reason(pytester: pytest.Pytester) -> None:
    """The divergence states the other outcome in full (container, length, shapes): it is what came back."""
    text = contract_file(
        LSTM_CALL + 'expect = { returns = "list" }\n',
        f'returns = "tensor"\nshapes = [[2, 3]]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(
        [
            f"XFAIL cases.toml::k[[]contract[]] - known divergence: returns a tensor with shapes "
            f"[[][[]2, 3[]][]]: {REASON}*"
        ]
    )


def test_declared_return_is_checked_as_strictly_as_expect(pytester: pytest.Pytester) -> None:
    """Declared a tensor of shape (2, 4); the call returns one of (2, 3): a failure naming the declaration."""
    text = contract_file(
        LSTM_CALL + 'expect = { returns = "list" }\n',
        f'returns = "tensor"\nshapes = [[2, 4]]\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*returned shapes [[](2, 3)[]], expected [[](2, 4)[]] (declared: returns a tensor*{REASON}*"]
    )


def test_declared_return_covers_a_raise_that_does_not_happen(pytester: pytest.Pytester) -> None:
    """The shipped pattern: Keras 3 raises (stated), Keras 2 returns (declared, with what it returns)."""
    text = contract_file(
        LSTM_CALL + 'expect = { raises = "TypeError", match = "x" }\n',
        f'when = {{ tf = ">=0" }}\nreturns = "tensor"\nshapes = [[2, 3]]\nreason = "{REASON}"',
    )
    run(pytester, text).assert_outcomes(xfailed=1)


@pytest.mark.parametrize(
    "divergence",
    [
        pytest.param(f'raises = "TypeError"\nmatch = "x"\nreason = "{REASON}"', id="raises"),
        pytest.param(f'returns = "list"\nreason = "{REASON}"', id="returns"),
    ],
)
def test_declared_divergence_whose_behaviour_is_gone_fails(
    pytester: pytest.Pytester, divergence: str
) -> None:
    result = run(pytester, contract_file(LSTM_CALL + LSTM_RETURNS, divergence))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*known divergence is gone*as the contract states*{REASON}*Remove or narrow*"]
    )


def test_declared_raise_of_another_class_fails_naming_both(pytester: pytest.Pytester) -> None:
    text = contract_file(
        RAISING_CALL + 'expect = { returns = "list" }\n',
        f'raises = "ValueError"\nmatch = "nonsense"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    problem_line(result, RAISING_SPELLED, "raised TypeError", "nonsense")
    result.stdout.fnmatch_lines([f"*(declared: raises ValueError*{REASON}*"])


@pytest.mark.parametrize("when", ['tf = "<1"', 'keras = ">=99"', "flavour = [{other}]"])
def test_divergence_whose_when_does_not_match_is_ignored(
    pytester: pytest.Pytester, tf: ModuleType, when: str
) -> None:
    """A condition that does not hold here: the declaration is ignored, so the contract that holds passes
    (were it applied, it would fail as gone)..."""
    others = ", ".join(f'"{f}"' for f in ("keras2", "keras3", "tf_keras") if f != flavour(tf))
    text = contract_file(
        LSTM_CALL + LSTM_RETURNS,
        f'when = {{ {when.format(other=others)} }}\nraises = "TypeError"\nmatch = "x"\nreason = "{REASON}"',
    )
    run(pytester, text).assert_outcomes(passed=1)


def test_non_matching_divergence_does_not_excuse_a_raise(pytester: pytest.Pytester) -> None:
    """...and does not excuse the raise it describes: the raise is a finding."""
    text = contract_file(
        RAISING_CALL + 'expect = { returns = "list" }\n',
        f'when = {{ tf = "<1" }}\nraises = "TypeError"\nmatch = "nonsense"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    assert "declared" not in result.stdout.str()


def test_divergence_for_this_flavour_and_version_applies(pytester: pytest.Pytester, tf: ModuleType) -> None:
    version = tf.__version__.split("-")[0]
    text = contract_file(
        RAISING_CALL + 'expect = { returns = "list" }\n',
        f'when = {{ flavour = ["{flavour(tf)}"], tf = "=={version}" }}\nraises = "TypeError"\n'
        f'match = "nonsense"\nreason = "{REASON}"',
    )
    run(pytester, text).assert_outcomes(xfailed=1)


def test_declared_raise_of_another_class_than_stated_is_xfailed(pytester: pytest.Pytester) -> None:
    """One release raises the class ``expect`` states, another a different one (declared): an xfail."""
    text = contract_file(
        RAISING_CALL + 'expect = { raises = "ValueError" }\n',
        f'when = {{ tf = ">=0" }}\nraises = "TypeError"\nmatch = "nonsense"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(
        [f"XFAIL cases.toml::k[[]contract[]] - known divergence: raises TypeError*{REASON}"]
    )


def test_declared_raise_gone_while_the_stated_raise_happens_fails(pytester: pytest.Pytester) -> None:
    """The call raises what ``expect`` states, not what the divergence declares: the divergence is gone."""
    text = contract_file(
        RAISING_CALL + 'expect = { raises = "TypeError", match = "nonsense" }\n',
        f'raises = "ValueError"\nmatch = "x"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*known divergence is gone:*raised TypeError*as the contract states*declared instead: "
            f"raises ValueError*{REASON}*"
        ]
    )


def test_gone_raise_on_a_raising_contract_does_not_say_returned_normally(pytester: pytest.Pytester) -> None:
    text = contract_file(
        RAISING_CALL + 'expect = { raises = "TypeError" }\n',
        f'raises = "ValueError"\nmatch = "x"\nreason = "{REASON}"',
    )
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    assert "returned normally" not in result.stdout.str()


# -- the shipped contracts ---------------------------------------------------------------------------------


def test_shipped_contracts(pytester: pytest.Pytester, tf: ModuleType) -> None:
    """cases/api_contracts.toml states Keras 3 and declares Keras 2: all pass on Keras 3, and on Keras 2
    (and tf-keras) the 16 declared divergences are xfails and the other 4 pass (on Keras 2.12, whose
    Bidirectional has no reset_states(states=...) either, 15 and 5)."""
    expected = {"keras3": {"passed": 20}, "keras2": {"passed": 4, "xfailed": 16}}
    expected["tf_keras"] = expected["keras2"]
    want = expected[flavour(tf)]
    if flavour(tf) == "keras2" and Version(tf.__version__) < Version("2.13"):
        want = {"passed": 5, "xfailed": 15}
    result = pytester.runpytest(str(SHIPPED), "-rxXfs", "-p", "no:cacheprovider")
    assert_no_kit_traceback(result.stdout.str())
    result.assert_outcomes(**want)
