"""Break a recurrent layer's behaviour on purpose, as a real regression would, and see the suite point at it.

Each breakage is a small monkeypatch of the Keras under test, installed by a conftest in a pytester
directory and run in a subprocess (so no patch can leak into other tests). The case file is an ordinary
one; what is asserted is that items fail and that the message names the check and the numbers.

``BREAKAGES`` are LSTM regressions of every check; ``FAMILY_BREAKAGES`` break the cell, the RNN wrapper
and the fused layer of every family (lstm, gru, simple_rnn) and assert that the broken path's item fails
and says so.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import assert_breakage_reported, flavour, run_broken

pytestmark = pytest.mark.requires_tf

CASE = """
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

# Each entry: the body of a conftest that patches Keras, and the lines the failure report must contain.
BREAKAGES: dict[str, tuple[str, list[str]]] = {
    "cell numerics (output scaled)": (
        """
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, **kw):
            h, new = orig(self, inputs, states, *a, **kw)
            return h * 1.01, new
        K.layers.LSTMCell.call = call
        """,
        [
            "*victim*manual_loop*",
            "*[[]agreement[]] output of *vs oracle:*elements differ*",
            "*max abs error*",
            "*first differing indices*",
        ],
    ),
    "gradient cut through the cell state": (
        """
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, **kw):
            h, c = states[0], states[1]
            return orig(self, inputs, [h, tf.stop_gradient(c)], *a, **kw)
        K.layers.LSTMCell.call = call
        """,
        ["*[[]gradient[]] d loss / d *", "*tape.gradient*"],
    ),
    "initial_state ignored by the layers": (
        """
        for cls in (K.layers.RNN, K.layers.LSTM):
            def make(orig):
                def call(self, inputs, *a, initial_state=None, **kw):
                    return orig(self, inputs, *a, **kw)
                return call
            cls.__call__ = make(cls.__call__)
        """,
        ["*[[]initial_state[]] a custom initial_state was ignored*", "*[[]agreement[]]*"],
    ),
    "state returned in the wrong dtype": (
        """
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, **kw):
            h, new = orig(self, inputs, states, *a, **kw)
            return h, [tf.cast(s, tf.float64) for s in new]
        K.layers.LSTMCell.call = call
        """,
        # Keras 3 lets the float64 state through (the dtype check names it); Keras 2's next matmul raises.
        ["*victim*manual_loop*", "*float64*"],
    ),
    "a time step dropped from the sequence": (
        """
        orig = K.layers.RNN.__call__
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            return [out[0][:, :-1], *out[1:]] if isinstance(out, (list, tuple)) else out
        K.layers.RNN.__call__ = call
        """,
        ["*[[]shape[]] output.shape=(2, 3, 4), expected (2, 4, 4)*"],
    ),
    "fused layer only: output bias": (
        """
        orig = K.layers.LSTM.__call__
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            return [out[0] + 1e-3, *out[1:]] if isinstance(out, (list, tuple)) else out + 1e-3
        K.layers.LSTM.__call__ = call
        """,
        [
            "*victim*fused_layer-call-eager-float32-cpu*",
            "*[[]agreement[]] output of layer(x, initial_state=[[]h, c[]]) vs oracle*",
        ],
    ),
    "the layer's output in the wrong dtype": (
        """
        orig = K.layers.LSTM.__call__
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            return [tf.cast(out[0], tf.float64), *out[1:]] if isinstance(out, (list, tuple)) else out
        K.layers.LSTM.__call__ = call
        """,
        [
            "*victim*fused_layer*",
            "*[[]dtype[]] output.dtype=float64, expected float32 (compute dtype of float32)*",
        ],
    ),
    "no initial_state is not zeros": (
        """
        for cls in (K.layers.RNN, K.layers.LSTM):
            def make(orig):
                def call(self, inputs, *a, initial_state=None, **kw):
                    if initial_state is None:  # a layer whose default state is not zeros
                        b = tf.shape(inputs)[0]
                        initial_state = [tf.fill([b, 4], 0.1), tf.fill([b, 4], 0.1)]
                    return orig(self, inputs, *a, initial_state=initial_state, **kw)
                return call
            cls.__call__ = make(cls.__call__)
        """,
        [
            "*[[]initial_state[]] output sequence with no initial_state vs with explicit zeros: "
            "*elements differ*"
        ],
    ),
    "the state is not carried into the second chunk": (
        """
        for cls in (K.layers.RNN, K.layers.LSTM):
            def make(orig):
                def call(self, inputs, *a, initial_state=None, **kw):
                    if initial_state is not None and inputs.shape[1] == 2:  # a chunk: the state is dropped
                        initial_state = [tf.zeros_like(s) for s in tf.nest.flatten(initial_state)]
                    return orig(self, inputs, *a, initial_state=initial_state, **kw)
                return call
            cls.__call__ = make(cls.__call__)
        """,
        [
            "*[[]initial_state[]] outputs of two chunks (2 steps, then 2, in processing order; final state "
            "carried) vs one run over the whole sequence: *"
        ],
    ),
    "non-finite gradients": (
        """
        @tf.custom_gradient
        def poisoned(x):
            return tf.identity(x), lambda dy: dy * float("nan")
        orig = K.layers.LSTMCell.call
        def call(self, inputs, states, *a, **kw):
            return orig(self, poisoned(inputs), states, *a, **kw)
        K.layers.LSTMCell.call = call
        """,
        ["*victim*manual_loop*", "*[[]gradient[]] d loss / d inputs: 24 of 24 elements are not finite*"],
    ),
}


CPU = "--conformance-devices=cpu"


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_breakage_is_reported(pytester: pytest.Pytester, name: str) -> None:
    body, lines = BREAKAGES[name]
    assert_breakage_reported(run_broken(pytester, CASE, body, CPU), lines)


def test_unbroken_keras_passes(pytester: pytest.Pytester) -> None:
    """The control: the same case with nothing patched passes on every path."""
    run_broken(pytester, CASE, "", CPU).assert_outcomes(passed=3)


def test_fused_only_breakage_spares_other_paths(pytester: pytest.Pytester) -> None:
    """A regression in one path fails that path's item alone: the report says which path is wrong."""
    body = BREAKAGES["fused layer only: output bias"][0]
    run_broken(pytester, CASE, body, CPU).assert_outcomes(passed=2, failed=1)


# -- every family: break the cell, the RNN wrapper, the fused layer -------------------------------------

# family -> (its cell, its fused layer), as keras.layers names
FAMILIES: dict[str, tuple[str, str]] = {
    "lstm": ("LSTMCell", "LSTM"),
    "gru": ("GRUCell", "GRU"),
    "simple_rnn": ("SimpleRNNCell", "SimpleRNN"),
}
PATHS = ("manual_loop", "rnn_wrapper", "fused_layer")

# One victim per family, with every option a breakage below needs to be visible: go_backwards (so a layer
# that ignores it runs the other way), a mask passed as mask= (so one dropped lets the states move at the
# masked steps), left padding (go_backwards reaches the masked steps last, after non-zero outputs) and
# zero_output_for_mask (so carrying the previous output instead of zeros differs).
VICTIM_OPTIONS: dict[str, Any] = {
    "return_sequences": True,
    "return_state": True,
    "go_backwards": True,
    "zero_output_for_mask": True,
}


def victim(family: str, options: dict[str, Any]) -> str:
    spelled = ", ".join(f"{k} = {str(v).lower()}" for k, v in {**VICTIM_OPTIONS, **options}.items())
    return f"""
[[case]]
id = "victim"
layer = "{family}"
batch = 2
timesteps = 4
features = 3
units = 4
dtypes = ["float32"]
options = {{ {spelled} }}
initial_state = {{ kind = "random" }}
mask = {{ lengths = [4, 2], padding = "left" }}
"""


AGREEMENT_OUTPUT = ("*[[]agreement[]] output of *vs oracle: * elements differ*", "*max abs error*")
AGREEMENT_STATE = ("*[[]agreement[]] final h of *vs oracle: * elements differ*", "*max abs error*")


@dataclass(frozen=True)
class Breakage:
    """A regression of one path of every family it names.

    ``body`` is a conftest body: ``CELL`` and ``LAYER`` are the family's cell and fused layer classes,
    ``K`` is ``tf.keras``. Each path in ``fails`` must fail, its own report naming the path and holding
    ``lines``; each in ``spares`` must pass. A path in neither is not asserted (see the cell breakages).
    """

    body: str
    fails: tuple[str, ...]
    lines: tuple[str, ...]
    spares: tuple[str, ...] = ()
    families: tuple[str, ...] = tuple(FAMILIES)
    options: dict[str, Any] = field(default_factory=dict)  # over VICTIM_OPTIONS


# A cell breakage fails the manual loop and the RNN wrapper of every family. The fused layer is not
# asserted: Keras 3 runs it through cell.call on CPU (so it fails too), but Keras 2's fused LSTM and GRU run
# their own CPU kernel (standard_lstm, standard_gru) and never call the cell, so they pass there.
# The wrapper breakages patch keras.layers.RNN for RNN(cell) alone (``type(self) is K.layers.RNN``): LSTM,
# GRU and SimpleRNN subclass RNN on both flavours, and a regression of the wrapper is meant to spare them.
# Keras 3's RNN has no __call__ of its own (Layer's takes *args, **kwargs) and Keras 2's takes
# (inputs, initial_state=None, constants=None, **kwargs): patches take *a, **kw and pass them on, and flags
# are switched off on the instance after __init__, which both flavours read at call time.
FAMILY_BREAKAGES: dict[str, Breakage] = {
    "cell: output scaled": Breakage(
        """
        orig = CELL.call
        def call(self, inputs, states, *a, **kw):
            out, new = orig(self, inputs, states, *a, **kw)
            return out * 1.01, new
        CELL.call = call
        """,
        fails=("manual_loop", "rnn_wrapper"),
        lines=AGREEMENT_OUTPUT,
    ),
    # GRUCell and SimpleRNNCell return their state as a list or a bare tensor, as they were given it.
    "cell: new state scaled": Breakage(
        """
        orig = CELL.call
        def call(self, inputs, states, *a, **kw):
            out, new = orig(self, inputs, states, *a, **kw)
            return out, tf.nest.map_structure(lambda s: s * 1.01, new)
        CELL.call = call
        """,
        fails=("manual_loop", "rnn_wrapper"),
        lines=AGREEMENT_STATE,
    ),
    "cell: gradient cut through the recurrent state": Breakage(
        """
        orig = CELL.call
        def call(self, inputs, states, *a, **kw):
            return orig(self, inputs, tf.nest.map_structure(tf.stop_gradient, states), *a, **kw)
        CELL.call = call
        """,
        fails=("manual_loop", "rnn_wrapper"),
        lines=(
            "*[[]gradient[]] d loss / d state.h is zero everywhere where the oracle's is not*",
            "*[[]gradient[]] d loss / d recurrent_kernel vs oracle: * elements differ*",
        ),
    ),
    "wrapper: mask= dropped": Breakage(
        """
        orig = K.layers.RNN.__call__
        def call(self, *a, **kw):
            if type(self) is K.layers.RNN:
                kw.pop("mask", None)
            return orig(self, *a, **kw)
        K.layers.RNN.__call__ = call
        """,
        fails=("rnn_wrapper",),
        lines=AGREEMENT_STATE,
        spares=("manual_loop", "fused_layer"),
    ),
    "wrapper: go_backwards ignored": Breakage(
        """
        orig = K.layers.RNN.__init__
        def init(self, *a, **kw):
            orig(self, *a, **kw)
            if type(self) is K.layers.RNN:
                self.go_backwards = False
        K.layers.RNN.__init__ = init
        """,
        fails=("rnn_wrapper",),
        lines=AGREEMENT_OUTPUT,
        spares=("manual_loop", "fused_layer"),
    ),
    "wrapper: zero_output_for_mask ignored": Breakage(
        """
        orig = K.layers.RNN.__init__
        def init(self, *a, **kw):
            orig(self, *a, **kw)
            if type(self) is K.layers.RNN:
                self.zero_output_for_mask = False
        K.layers.RNN.__init__ = init
        """,
        fails=("rnn_wrapper",),
        lines=AGREEMENT_OUTPUT,
        spares=("manual_loop", "fused_layer"),
    ),
    "fused layer: output bias": Breakage(
        """
        orig = LAYER.__call__
        def call(self, *a, **kw):
            out = orig(self, *a, **kw)
            return [out[0] + 1e-3, *out[1:]] if isinstance(out, (list, tuple)) else out + 1e-3
        LAYER.__call__ = call
        """,
        fails=("fused_layer",),
        lines=AGREEMENT_OUTPUT,
        spares=("manual_loop", "rnn_wrapper"),
    ),
    "fused layer: go_backwards ignored": Breakage(
        """
        orig = LAYER.__init__
        def init(self, *a, **kw):
            orig(self, *a, **kw)
            self.go_backwards = False
        LAYER.__init__ = init
        """,
        fails=("fused_layer",),
        lines=AGREEMENT_OUTPUT,
        spares=("manual_loop", "rnn_wrapper"),
    ),
    "fused layer: mask= dropped": Breakage(
        """
        orig = LAYER.__call__
        def call(self, *a, **kw):
            kw.pop("mask", None)
            return orig(self, *a, **kw)
        LAYER.__call__ = call
        """,
        fails=("fused_layer",),
        lines=AGREEMENT_STATE,
        spares=("manual_loop", "rnn_wrapper"),
    ),
    # reset_after decides the shape of GRU's bias ((2, 3*units) or (3*units,)), so a GRU layer that drops
    # reset_after=False cannot compute the other formula with wrong numbers: on both flavours it builds the
    # other bias, and the case's weights no longer fit. There is no check to name: the item reports the
    # call that raised, with the shapes.
    "fused layer: reset_after=False dropped": Breakage(
        """
        orig = LAYER.__init__
        def init(self, *a, **kw):
            kw.pop("reset_after", None)
            orig(self, *a, **kw)
        LAYER.__init__ = init
        """,
        fails=("fused_layer",),
        lines=("*cell.bias.assign(<case weights (12,)>) raised ValueError*(2, 12)*",),
        spares=("manual_loop", "rnn_wrapper"),
        families=("gru",),
        options={"reset_after": False},
    ),
}

FAMILY_CASES = [
    pytest.param(name, family, id=f"{family}-{name}")
    for name, breakage in FAMILY_BREAKAGES.items()
    for family in breakage.families
]
# The controls: every victim a breakage runs on, unpatched.
VICTIMS = sorted(
    {(family, tuple(b.options.items())) for b in FAMILY_BREAKAGES.values() for family in b.families}
)

_ITEM_LINE = re.compile(
    r"::victim\[(\w+)-call-eager-float32-cpu\] (PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\b"
)


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """path -> PASSED, FAILED, ... from the -v progress lines."""
    found = (_ITEM_LINE.search(line) for line in result.outlines)
    return {m.group(1): m.group(2) for m in found if m}


def _report(result: pytest.RunResult, path: str) -> list[str]:
    """The lines of one item's failure report, from its ``___ victim [path-...] ___`` header to the next."""
    head = re.compile(rf"^_+ victim ?\[{path}-call-eager-float32-cpu\] _+$")
    lines = result.outlines
    start = next((i for i, line in enumerate(lines) if head.match(line)), None)
    assert start is not None, f"no failure report for {path}:\n{result.stdout.str()}"
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^(_{3,} |={3,} )", lines[i])), len(lines)
    )
    return lines[start:end]


@pytest.mark.parametrize(("name", "family"), FAMILY_CASES)
def test_family_breakage_is_reported(pytester: pytest.Pytester, name: str, family: str) -> None:
    breakage = FAMILY_BREAKAGES[name]
    cell, layer = FAMILIES[family]
    body = f"CELL = K.layers.{cell}\nLAYER = K.layers.{layer}\n" + textwrap.dedent(breakage.body)
    result = run_broken(pytester, victim(family, breakage.options), body, CPU, "-v")
    outcomes = _outcomes(result)
    assert set(outcomes) == set(PATHS), result.stdout.str()
    for path in breakage.fails:
        assert outcomes[path] == "FAILED", f"{family} {path}: {outcomes[path]}\n{result.stdout.str()}"
        report = pytest.LineMatcher(_report(result, path))
        report.fnmatch_lines([f"case 'victim' · path {path} · *", *breakage.lines])
    for path in breakage.spares:
        assert outcomes[path] == "PASSED", f"{family} {path}: {outcomes[path]}\n{result.stdout.str()}"
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.parametrize(
    ("family", "options"),
    [pytest.param(f, o, id="-".join([f, *(f"{k}={v}" for k, v in o)])) for f, o in VICTIMS],
)
def test_unbroken_family_passes(
    pytester: pytest.Pytester, family: str, options: tuple[tuple[str, Any], ...]
) -> None:
    """The control of each family's victim: with nothing patched, every path passes on both flavours."""
    result = run_broken(pytester, victim(family, dict(options)), "", CPU, "-v")
    assert _outcomes(result) == dict.fromkeys(PATHS, "PASSED"), result.stdout.str()
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("keras3", [True, False], ids=["keras3-spelling", "keras2-spelling"])
def test_get_initial_state_returning_non_zeros_is_reported(
    pytester: pytest.Pytester, tf: Any, keras3: bool
) -> None:
    """``get_initial_state`` as the case spells it must return zeros: a cell whose states start at 0.5 fails
    the initial_state check, naming the call."""
    if keras3 != (flavour(tf) == "keras3"):
        pytest.skip("the spelling of the other Keras")
    args = "batch_size = 2" if keras3 else 'batch_size = 2, dtype = "float32"'
    case = CASE.replace(
        'initial_state = { kind = "random" }',
        f'initial_state = {{ kind = "get_initial_state", on = "cell", args = {{ {args} }} }}\npaths '
        f'= ["manual_loop"]',
    )
    patch = """
    orig = K.layers.LSTMCell.get_initial_state
    def get_initial_state(self, *a, **kw):
        return [s + 0.5 for s in orig(self, *a, **kw)]
    K.layers.LSTMCell.get_initial_state = get_initial_state
    """
    result = run_broken(pytester, case, patch, CPU)
    assert_breakage_reported(
        result, ["*[[]initial_state[]] cell.get_initial_state(*)[[]h[]] is not all zeros: 8 of 8 non-zero*"]
    )
