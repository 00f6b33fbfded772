"""Tests for the NumPy oracle alone (no TensorFlow).

Two independent anchors: hand-computed tiny cases pin the forward semantics (gate order, weight layout,
masking, go_backwards) without trusting the oracle's code, and central differences pin the analytic BPTT
against the oracle's own forward for every input, initial state and weight.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from conformance.oracle import ORACLES, Gradients, gru, lstm, numgrad, simple_rnn
from conformance.oracle.types import Oracle

FAMILIES = sorted(ORACLES)
RTOL = 1e-6  # central differences with eps=1e-6 in float64 agree to ~1e-9 of the array's scale


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def make_mask(kind: str, batch: int, time: int) -> np.ndarray:
    """Masks with the patterns that matter: right/left padding, holes, a fully masked row."""
    mask = np.ones((batch, time), dtype=bool)
    if kind == "right":  # lengths time, time-2, 1, ...
        for b in range(batch):
            mask[b, max(1, time - 2 * b) :] = False
    elif kind == "left":
        for b in range(batch):
            mask[b, : min(time - 1, 2 * b)] = False
    elif kind == "mixed":  # holes, a fully masked row, a row masked at step 0 only
        mask[0, 1::2] = False
        mask[1 % batch, :] = False
        if batch > 2:
            mask[2, 0] = False
    else:
        raise ValueError(kind)
    return mask


def random_problem(
    oracle: Oracle, dims: tuple[int, int, int, int], seed: int, **options: Any
) -> dict[str, Any]:
    batch, time, features, units = dims
    rng = np.random.default_rng(seed)
    n_states = len(oracle.STATE_NAMES)
    shapes = oracle.weight_shapes(features, units, **options)
    return {
        "x": rng.normal(size=(batch, time, features)),
        "initial_state": tuple(rng.normal(size=(batch, units)) for _ in range(n_states)),
        "weights": {name: rng.normal(scale=0.6, size=shape) for name, shape in shapes.items()},
        "cot_sequence": rng.normal(size=(batch, time, units)),
        "cot_states": tuple(rng.normal(size=(batch, units)) for _ in range(n_states)),
    }


def assert_gradients_close(analytic: Gradients, numeric: Gradients, rtol: float = RTOL) -> None:
    """Elementwise relative error, with the denominator floored at 1% of the array's largest entry."""
    assert list(analytic.weights) == list(numeric.weights)
    assert len(analytic.initial_state) == len(numeric.initial_state)
    pairs = [("inputs", analytic.inputs, numeric.inputs)]
    pairs += [
        (f"initial_state[{i}]", a, n)
        for i, (a, n) in enumerate(zip(analytic.initial_state, numeric.initial_state, strict=True))
    ]
    pairs += [(f"weights[{k!r}]", analytic.weights[k], numeric.weights[k]) for k in analytic.weights]
    for name, a, n in pairs:
        assert a.shape == n.shape, name
        assert a.dtype == np.float64, name
        scale = float(np.max(np.abs(n)))
        assert scale > 1e-6, f"{name}: gradient is identically zero, so the check would be vacuous"
        err = np.abs(a - n) / np.maximum(np.abs(n), 1e-2 * scale)
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err.max() <= rtol, f"{name}: rel err {err.max():.2e} at {worst}: {a[worst]!r} vs {n[worst]!r}"


def check_against_numgrad(
    family: str,
    dims: tuple[int, int, int, int],
    options: dict[str, Any],
    mask_kind: str | None,
    seed: int = 0,
) -> None:
    oracle = ORACLES[family]
    p = random_problem(oracle, dims, seed, **options)
    mask = None if mask_kind is None else make_mask(mask_kind, dims[0], dims[1])
    analytic = oracle.gradients(
        p["x"],
        p["initial_state"],
        p["weights"],
        cot_sequence=p["cot_sequence"],
        cot_states=p["cot_states"],
        mask=mask,
        **options,
    )
    numeric = numgrad.numerical_gradients(
        oracle,
        p["x"],
        p["initial_state"],
        p["weights"],
        cot_sequence=p["cot_sequence"],
        cot_states=p["cot_states"],
        mask=mask,
        **options,
    )
    assert_gradients_close(analytic, numeric)


# (id, (batch, time, features, units), options, mask kind), run for every family.
GradCase = tuple[str, tuple[int, int, int, int], dict[str, Any], str | None]
COMMON_GRAD_CASES: list[GradCase] = [
    ("b1-t1-f1-u1", (1, 1, 1, 1), {}, None),
    ("batch1", (1, 4, 2, 3), {}, None),
    ("time1", (3, 1, 2, 3), {}, None),
    ("units1", (2, 4, 3, 1), {}, None),
    ("b3-t7-f4-u5", (3, 7, 4, 5), {}, None),
    ("no-bias", (2, 4, 3, 3), {"use_bias": False}, None),
    ("relu", (2, 4, 3, 3), {"activation": "relu"}, None),
    ("sigmoid", (2, 4, 3, 3), {"activation": "sigmoid"}, None),
    ("linear-no-bias", (2, 3, 2, 2), {"activation": "linear", "use_bias": False}, None),
    ("go-backwards", (2, 5, 3, 3), {"go_backwards": True}, None),
    ("mask-right", (3, 5, 2, 3), {}, "right"),
    ("mask-left-go-backwards", (3, 5, 2, 3), {"go_backwards": True}, "left"),
    ("mask-mixed", (3, 5, 2, 3), {}, "mixed"),
    ("mask-mixed-zero-output", (3, 5, 2, 3), {"zero_output_for_mask": True}, "mixed"),
    (
        "mask-mixed-go-backwards-zero-output",
        (3, 5, 2, 2),
        {"go_backwards": True, "zero_output_for_mask": True},
        "mixed",
    ),
    ("mask-time1", (2, 1, 2, 2), {}, "mixed"),
    (
        "b3-t7-f4-u5-mask-go-backwards-no-bias",
        (3, 7, 4, 5),
        {"go_backwards": True, "use_bias": False},
        "mixed",
    ),
]
FAMILY_GRAD_CASES: dict[str, list[GradCase]] = {
    "lstm": [
        ("recurrent-linear", (2, 4, 3, 3), {"recurrent_activation": "linear"}, None),
        (
            "recurrent-tanh-relu",
            (2, 4, 3, 3),
            {"recurrent_activation": "tanh", "activation": "relu"},
            "mixed",
        ),
    ],
    "gru": [
        ("reset-before", (2, 4, 3, 3), {"reset_after": False}, None),
        ("reset-before-b3-t7-f4-u5", (3, 7, 4, 5), {"reset_after": False}, None),
        ("reset-before-no-bias-mask", (3, 5, 2, 3), {"reset_after": False, "use_bias": False}, "mixed"),
        (
            "reset-before-go-backwards-mask",
            (3, 5, 2, 3),
            {"reset_after": False, "go_backwards": True},
            "right",
        ),
        ("reset-after-no-bias", (2, 4, 3, 3), {"reset_after": True, "use_bias": False}, None),
        ("recurrent-tanh-relu", (2, 4, 3, 3), {"recurrent_activation": "tanh", "activation": "relu"}, "left"),
    ],
    "simple_rnn": [
        ("relu-mask-go-backwards", (3, 5, 2, 3), {"activation": "relu", "go_backwards": True}, "left"),
    ],
}
GRAD_PARAMS = [
    pytest.param(family, dims, options, mask_kind, id=f"{family}-{case_id}")
    for family in FAMILIES
    for case_id, dims, options, mask_kind in COMMON_GRAD_CASES + FAMILY_GRAD_CASES[family]
]


@pytest.mark.parametrize(("family", "dims", "options", "mask_kind"), GRAD_PARAMS)
def test_bptt_matches_central_differences(
    family: str, dims: tuple[int, int, int, int], options: dict[str, Any], mask_kind: str | None
) -> None:
    check_against_numgrad(family, dims, options, mask_kind)


# --- Hand-computed forward values: these pin the semantics independently of the oracle's code. ---


def test_lstm_one_step_by_hand() -> None:
    # Pre-activations chosen for closed forms: sigmoid(0)=1/2, sigmoid(ln 3)=3/4, tanh(ln 2)=3/5.
    # Distinct gate values pin the kernel column order i, f, c, o.
    kernel = np.array([[0.0, math.log(3.0), math.log(2.0), 0.0]])
    weights = {"kernel": kernel, "recurrent_kernel": np.zeros((1, 4))}
    x, h0, c0 = np.ones((1, 1, 1)), np.zeros((1, 1)), np.full((1, 1), 2.0)
    trace = lstm.forward(x, (h0, c0), weights, use_bias=False)
    i, f, g, o = 0.5, 0.75, 0.6, 0.5
    c1 = f * 2.0 + i * g  # 1.8
    h1 = o * math.tanh(c1)
    assert trace.states[1][0, 0] == pytest.approx(1.8, rel=1e-14)
    assert trace.states[0][0, 0] == pytest.approx(h1, rel=1e-14)
    assert trace.sequence.shape == (1, 1, 1)
    assert trace.sequence[0, 0, 0] == pytest.approx(h1, rel=1e-14)

    # L = c1: dc1/dc0 = f; dc1/dz_i = g i (1-i), dc1/dz_f = c0 f (1-f), dc1/dz_c = i (1-g^2), dc1/dz_o = 0.
    grads = lstm.gradients(
        x,
        (h0, c0),
        weights,
        cot_sequence=np.zeros((1, 1, 1)),
        cot_states=(np.zeros((1, 1)), np.ones((1, 1))),
        use_bias=False,
    )
    assert grads.initial_state[1][0, 0] == pytest.approx(0.75, rel=1e-14)
    np.testing.assert_allclose(grads.weights["kernel"], [[0.15, 0.375, 0.32, 0.0]], rtol=1e-14, atol=1e-16)
    # L = h1 through the sequence: dh1/dc0 = o (1 - tanh(c1)^2) f.
    grads = lstm.gradients(
        x,
        (h0, c0),
        weights,
        cot_sequence=np.ones((1, 1, 1)),
        cot_states=(np.zeros((1, 1)), np.zeros((1, 1))),
        use_bias=False,
    )
    assert grads.initial_state[1][0, 0] == pytest.approx(0.5 * (1 - math.tanh(1.8) ** 2) * 0.75, rel=1e-14)


def test_lstm_two_steps_two_units_by_hand() -> None:
    """Scalar loops over the documented formula pin the (u, 4u) block layout, bias and recurrence."""
    rng = np.random.default_rng(7)
    features, units = 2, 2
    w = {name: rng.normal(size=shape) for name, shape in lstm.weight_shapes(features, units).items()}
    x = rng.normal(size=(1, 2, features))
    h, c = [0.3, -0.2], [0.5, 1.0]
    hs = []
    for t in range(2):

        def pre(gate: int, j: int, h: list[float] = h, t: int = t) -> float:
            col = gate * units + j
            return (
                sum(x[0, t, k] * w["kernel"][k, col] for k in range(features))
                + sum(h[k] * w["recurrent_kernel"][k, col] for k in range(units))
                + w["bias"][col]
            )

        new_h, new_c = [], []
        for j in range(units):
            i, f = sigmoid(pre(0, j)), sigmoid(pre(1, j))
            g, o = math.tanh(pre(2, j)), sigmoid(pre(3, j))
            new_c.append(f * c[j] + i * g)
            new_h.append(o * math.tanh(new_c[-1]))
        h, c = new_h, new_c
        hs.append(h)
    trace = lstm.forward(x, (np.array([[0.3, -0.2]]), np.array([[0.5, 1.0]])), w)
    np.testing.assert_allclose(trace.sequence[0], hs, rtol=1e-13)
    np.testing.assert_allclose(trace.states[0][0], h, rtol=1e-13)
    np.testing.assert_allclose(trace.states[1][0], c, rtol=1e-13)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_one_step_by_hand(reset_after: bool) -> None:
    # x = 1, h0 = 0.5. Update gate pre-activation 0 (z = 1/2), reset gate ln 3 (r = 3/4).
    kernel = np.array([[0.4, math.log(3.0), 0.2]])
    rec = np.array([[-0.4, 0.0, 0.4]])
    if reset_after:
        bias = np.array([[-0.2, 0.0, 0.1], [0.2, 0.0, 0.3]])  # row 1 (recurrent) also feeds z
        a_z = 0.4 - 0.2 + (-0.4 * 0.5 + 0.2)  # = 0.2, so z = sigmoid(0.2)
        a_h = 0.2 + 0.1 + 0.75 * (0.4 * 0.5 + 0.3)  # reset applied after the matmul, to U_h h + b_rec
    else:
        bias = np.array([-0.2, 0.0, 0.1])
        a_z = 0.4 - 0.2 - 0.4 * 0.5  # = 0
        a_h = 0.2 + 0.1 + (0.75 * 0.5) * 0.4  # reset applied to h before the matmul
    z = sigmoid(a_z)
    expected = z * 0.5 + (1 - z) * math.tanh(a_h)
    weights = {"kernel": kernel, "recurrent_kernel": rec, "bias": bias}
    trace = gru.forward(np.ones((1, 1, 1)), (np.full((1, 1), 0.5),), weights, reset_after=reset_after)
    assert trace.states[0][0, 0] == pytest.approx(expected, rel=1e-14)
    assert trace.sequence[0, 0, 0] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_two_steps_two_units_by_hand(reset_after: bool) -> None:
    rng = np.random.default_rng(11)
    features, units = 2, 2
    w = {
        n: rng.normal(size=s) for n, s in gru.weight_shapes(features, units, reset_after=reset_after).items()
    }
    x = rng.normal(size=(1, 2, features))
    b_in = w["bias"][0] if reset_after else w["bias"]
    b_rec = w["bias"][1] if reset_after else np.zeros(3 * units)
    h = [0.3, -0.2]
    for t in range(2):

        def xm(gate: int, j: int, t: int = t) -> float:
            col = gate * units + j
            return sum(x[0, t, k] * w["kernel"][k, col] for k in range(features)) + b_in[col]

        def hm(gate: int, j: int, v: list[float]) -> float:
            col = gate * units + j
            return sum(v[k] * w["recurrent_kernel"][k, col] for k in range(units)) + b_rec[col]

        z = [sigmoid(xm(0, j) + hm(0, j, h)) for j in range(units)]
        r = [sigmoid(xm(1, j) + hm(1, j, h)) for j in range(units)]
        if reset_after:
            hh = [math.tanh(xm(2, j) + r[j] * hm(2, j, h)) for j in range(units)]
        else:
            rh = [r[k] * h[k] for k in range(units)]
            hh = [math.tanh(xm(2, j) + hm(2, j, rh)) for j in range(units)]
        h = [z[j] * h[j] + (1 - z[j]) * hh[j] for j in range(units)]
    trace = gru.forward(x, (np.array([[0.3, -0.2]]),), w, reset_after=reset_after)
    np.testing.assert_allclose(trace.states[0][0], h, rtol=1e-13)


# SimpleRNN with linear activation and integer weights gives exact integers, which pins the scan itself:
# kernel 2, recurrent 3, bias 1, h0 = 1, x = 1, 2, 3.
LINEAR_RNN = {"kernel": np.array([[2.0]]), "recurrent_kernel": np.array([[3.0]]), "bias": np.array([1.0])}
X123 = np.array([[[1.0], [2.0], [3.0]]])
H0 = (np.array([[1.0]]),)


@pytest.mark.parametrize(
    ("mask", "options", "sequence", "final"),
    [
        (None, {}, [6, 23, 76], 76),
        # go_backwards processes x = 3, 2, 1 and returns outputs in processing order (not re-reversed).
        (None, {"go_backwards": True}, [10, 35, 108], 108),
        # A masked step keeps the state and repeats the previous output.
        ([True, False, True], {}, [6, 6, 25], 25),
        # Masked at step 0: the "previous output" is zeros, the state stays h0.
        ([False, True, True], {}, [0, 8, 31], 31),
        ([True, True, False], {}, [6, 23, 23], 23),
        ([True, False, True], {"zero_output_for_mask": True}, [6, 0, 25], 25),
        ([False, False, False], {}, [0, 0, 0], 1),
        # The mask is reversed with the inputs: processing x = 3, 2, 1 with mask F, T, T.
        ([True, True, False], {"go_backwards": True}, [0, 8, 27], 27),
        ([True, True, False], {"go_backwards": True, "zero_output_for_mask": True}, [0, 8, 27], 27),
    ],
)
def test_simple_rnn_scan_by_hand(
    mask: list[bool] | None, options: dict[str, Any], sequence: list[float], final: float
) -> None:
    m = None if mask is None else np.array([mask])
    trace = simple_rnn.forward(X123, H0, LINEAR_RNN, mask=m, activation="linear", **options)
    np.testing.assert_array_equal(trace.sequence[0, :, 0], sequence)
    np.testing.assert_array_equal(trace.states[0], [[final]])


def test_simple_rnn_bptt_by_hand() -> None:
    # L = h3 = 2 x3 + 3 (2 x2 + 3 (2 x1 + 3 h0 + 1) + 1) + 1 with h1 = 6, h2 = 23.
    grads = simple_rnn.gradients(
        X123,
        H0,
        LINEAR_RNN,
        cot_sequence=np.zeros((1, 3, 1)),
        cot_states=(np.ones((1, 1)),),
        activation="linear",
    )
    np.testing.assert_array_equal(grads.inputs[0, :, 0], [18, 6, 2])  # w u^2, w u, w
    np.testing.assert_array_equal(grads.initial_state[0], [[27]])  # u^3
    np.testing.assert_array_equal(grads.weights["kernel"], [[3 + 3 * 2 + 9 * 1]])  # x3 + u x2 + u^2 x1
    np.testing.assert_array_equal(
        grads.weights["recurrent_kernel"], [[23 + 3 * 6 + 9 * 1]]
    )  # h2 + u h1 + u^2 h0
    np.testing.assert_array_equal(grads.weights["bias"], [13])  # 1 + u + u^2
    # Masked middle step (outputs 6, 6, 25): with L = sum of outputs, the repeated output sends its
    # cotangent back to step 0, and the masked input gets none.
    grads = simple_rnn.gradients(
        X123,
        H0,
        LINEAR_RNN,
        cot_sequence=np.ones((1, 3, 1)),
        cot_states=(np.zeros((1, 1)),),
        mask=np.array([[True, False, True]]),
        activation="linear",
    )
    # dL/dh1 = 2 (outputs 0 and 1) + u (through step 2) = 5; dL/dx1 = 5 w, dL/dx2 = 0, dL/dx3 = w.
    np.testing.assert_array_equal(grads.inputs[0, :, 0], [10, 0, 2])
    np.testing.assert_array_equal(grads.initial_state[0], [[15]])  # 5 u


# --- Properties that tie options together. ---


@pytest.mark.parametrize("family", FAMILIES)
def test_go_backwards_is_forward_on_reversed_time(family: str) -> None:
    oracle = ORACLES[family]
    p = random_problem(oracle, (3, 5, 2, 3), seed=3)
    mask = make_mask("mixed", 3, 5)
    back = oracle.forward(p["x"], p["initial_state"], p["weights"], mask=mask, go_backwards=True)
    fwd = oracle.forward(p["x"][:, ::-1], p["initial_state"], p["weights"], mask=mask[:, ::-1])
    np.testing.assert_array_equal(back.sequence, fwd.sequence)
    for a, b in zip(back.states, fwd.states, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("family", FAMILIES)
def test_masked_steps_hold_states_and_get_no_input_gradient(family: str) -> None:
    oracle = ORACLES[family]
    p = random_problem(oracle, (3, 5, 2, 3), seed=4)
    mask = make_mask("mixed", 3, 5)
    trace = oracle.forward(p["x"], p["initial_state"], p["weights"], mask=mask)
    # Row 1 is fully masked: zeros out, initial states back.
    np.testing.assert_array_equal(trace.sequence[1], 0.0)
    for final, init in zip(trace.states, p["initial_state"], strict=True):
        np.testing.assert_array_equal(final[1], init[1])
    # Row 0 is masked at odd steps: the output repeats the previous one.
    np.testing.assert_array_equal(trace.sequence[0, 1], trace.sequence[0, 0])
    np.testing.assert_array_equal(trace.sequence[0, 3], trace.sequence[0, 2])
    grads = oracle.gradients(
        p["x"],
        p["initial_state"],
        p["weights"],
        cot_sequence=p["cot_sequence"],
        cot_states=p["cot_states"],
        mask=mask,
    )
    np.testing.assert_array_equal(grads.inputs[~mask], 0.0)
    assert np.all(np.abs(grads.inputs[mask]) > 0)
    zeroed = oracle.forward(p["x"], p["initial_state"], p["weights"], mask=mask, zero_output_for_mask=True)
    np.testing.assert_array_equal(zeroed.sequence[~mask], 0.0)
    np.testing.assert_array_equal(zeroed.sequence[mask], trace.sequence[mask])


@pytest.mark.parametrize("family", FAMILIES)
def test_inputs_of_any_float_dtype_are_computed_in_float64(family: str) -> None:
    oracle = ORACLES[family]
    p = random_problem(oracle, (2, 3, 2, 2), seed=5)
    as32 = {k: v.astype(np.float32) for k, v in p["weights"].items()}
    x32, s32 = p["x"].astype(np.float32), tuple(s.astype(np.float32) for s in p["initial_state"])
    t32 = oracle.forward(x32, s32, as32)
    t64 = oracle.forward(
        x32.astype(np.float64),
        tuple(s.astype(np.float64) for s in s32),
        {k: v.astype(np.float64) for k, v in as32.items()},
    )
    assert t32.sequence.dtype == np.float64
    assert all(s.dtype == np.float64 for s in t32.states)
    np.testing.assert_array_equal(t32.sequence, t64.sequence)


def test_weight_shapes_follow_keras() -> None:
    assert lstm.weight_shapes(4, 5) == {"kernel": (4, 20), "recurrent_kernel": (5, 20), "bias": (20,)}
    assert gru.weight_shapes(4, 5) == {"kernel": (4, 15), "recurrent_kernel": (5, 15), "bias": (2, 15)}
    assert gru.weight_shapes(4, 5, reset_after=False)["bias"] == (15,)
    assert simple_rnn.weight_shapes(4, 5) == {"kernel": (4, 5), "recurrent_kernel": (5, 5), "bias": (5,)}
    for oracle in ORACLES.values():
        assert "bias" not in oracle.weight_shapes(4, 5, use_bias=False)
        assert tuple(oracle.weight_shapes(4, 5)) == oracle.WEIGHT_NAMES
    assert lstm.STATE_NAMES == ("h", "c")
    assert gru.STATE_NAMES == simple_rnn.STATE_NAMES == ("h",)
    assert set(ORACLES) == {"lstm", "gru", "simple_rnn"}


@pytest.mark.parametrize(
    ("family", "options"),
    [
        ("lstm", {"reset_after": True}),
        ("simple_rnn", {"recurrent_activation": "sigmoid"}),
        ("gru", {"unroll": True}),
        ("lstm", {"go_backwards": 1}),
    ],
)
def test_unknown_or_mistyped_options_raise_type_error(family: str, options: dict[str, Any]) -> None:
    oracle = ORACLES[family]
    p = random_problem(oracle, (1, 2, 1, 1), seed=6)
    with pytest.raises(TypeError):
        oracle.forward(p["x"], p["initial_state"], p["weights"], **options)
    with pytest.raises(TypeError):
        oracle.weight_shapes(1, 1, **options)


def test_inconsistent_inputs_raise_value_error() -> None:
    p = random_problem(lstm, (2, 3, 2, 2), seed=8)
    x, s, w = p["x"], p["initial_state"], p["weights"]
    with pytest.raises(ValueError, match="keys"):
        lstm.forward(x, s, w, use_bias=False)  # a bias the options say does not exist
    with pytest.raises(ValueError, match="kernel"):
        lstm.forward(x, s, {**w, "kernel": w["kernel"][:, :4]})
    with pytest.raises(ValueError, match="initial_state"):
        lstm.forward(x, s[:1], w)
    with pytest.raises(ValueError, match="mask"):
        lstm.forward(x, s, w, mask=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="activation"):
        lstm.forward(x, s, w, activation="gelu")
    with pytest.raises(ValueError, match="cot_sequence"):
        lstm.gradients(x, s, w, cot_sequence=p["cot_sequence"][:, :1], cot_states=p["cot_states"])


def test_gradient_weight_keys_follow_the_callers_weights() -> None:
    p = random_problem(gru, (1, 2, 1, 1), seed=9)
    reordered = dict(reversed(list(p["weights"].items())))
    grads = gru.gradients(
        p["x"], p["initial_state"], reordered, cot_sequence=p["cot_sequence"], cot_states=p["cot_states"]
    )
    assert list(grads.weights) == list(reordered)
