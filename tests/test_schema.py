"""The case format's three renderings stay in step: the kit's validator, the JSON Schema, and the docs.

Editors validate case files with ``conformance/case.schema.json``; the kit validates them with
:mod:`conformance.casefile.fields` and :mod:`conformance.casefile`. A file an editor marks valid must load,
and a file the kit refuses should be marked in the editor, so every example below is judged by both. What the
structural schema cannot express (array shapes, version specifiers, merges) is listed separately, so each
gap is explicit and a change to it shows up here. No TensorFlow is imported.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance import __main__ as cli
from conformance import casefile
from conformance.casefile import schema
from conformance.casefile.fields import Field, check
from conformance.errors import CaseFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CASES = sorted((REPO / "cases").glob("*.toml"))
DOCS = REPO / "docs" / "case-format.md"
VALIDATOR = Draft202012Validator(schema.json_schema())

# -- building examples ---------------------------------------------------------------------------------

SIZES = {"batch": "2", "timesteps": "3", "features": "4", "units": "5"}
TINY = {"batch": "1", "timesteps": "1", "features": "1", "units": "1"}
DIV = '[[case.divergence]]\nreason = "why"\n'  # a divergence's start: its keys follow, so it goes last
W1 = "kernel = [[1, 1, 1, 1]], recurrent_kernel = [[1, 1, 1, 1]]"  # LSTM weights for features = units = 1
CONTAINERS = ("tensor", "list", "tuple", "sequence", "none", "object")  # the values of expect.returns


def case(body: str = "", case_id: str = "c", sizes: dict[str, str] | None = None, **override: str) -> str:
    """One ``[[case]]`` with valid sizes (``override`` replaces them as TOML literals), then ``body``."""
    values = {**(sizes or SIZES), **override}
    return f'[[case]]\nid = "{case_id}"\n' + "".join(f"{k} = {v}\n" for k, v in values.items()) + body


def tiny(body: str = "", **override: str) -> str:
    """A case of batch = timesteps = features = units = 1, so explicit arrays stay short."""
    return case(body, sizes=TINY, **override)


# One [[contract]]: a constructor call that returns a layer, unless the keywords say otherwise (None
# leaves the key out); ``body`` follows, so a [[contract.divergence]] in it goes last.
CDIV = '[[contract.divergence]]\nreason = "why"\n'
WITH_X = "inputs = [2, 5, 4]\n"  # the inputs a __call__ (or prepare = "call", or "{inputs}") needs


def contract(
    body: str = "",
    contract_id: str | None = "k",
    layer: str | None = '"LSTM"',
    call: str | None = '"new"',
    expect: str | None = '{ returns = "object" }',
) -> str:
    keys = {"id": None if contract_id is None else f'"{contract_id}"', "layer": layer, "call": call}
    keys["expect"] = expect
    return "[[contract]]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items() if v is not None) + body


def bad(name: str, text: str, key: str | None = None, says: str | None = None) -> Any:
    """An invalid example; the kit's error must contain ``key '<key>'`` (or ``says``)."""
    return pytest.param(text, says or f"key '{key}'", id=name)


def ok(name: str, text: str) -> Any:
    return pytest.param(text, id=name)


# -- the examples ----------------------------------------------------------------------------------------

# Rejected by the kit AND by the JSON Schema.
INVALID = [
    # unknown keys, at every level
    bad(
        "unknown-top-level",
        'title = "x"\n' + case(),
        says="key 'title': unknown top-level key; "
        "a case file holds [defaults], [[case]], [[contract]] and [[divergence]] tables",
    ),
    bad("unknown-in-defaults", "[defaults]\nbach = 2\n" + case(), "defaults.bach"),
    bad("unknown-in-case", case("bach = 2\n"), "bach"),
    bad("unknown-in-options", case("options = { return_sequence = true }\n"), "options.return_sequence"),
    bad("unknown-in-inputs", case("inputs = { seeds = 1 }\n"), "inputs.seeds"),
    bad("unknown-in-weights", case('weights = { kind = "random", sale = 0.1 }\n'), "weights.sale"),
    bad(
        "unknown-in-initial-state",
        case('initial_state = { kind = "explicit", state = [] }\n'),
        "initial_state.state",
    ),
    bad("unknown-in-expect", case('[case.expect]\ncheck = ["shape"]\n'), "expect.check"),
    bad(
        "unknown-in-tolerance", case("[case.expect.tolerance]\ngrad_tol = 0.1\n"), "expect.tolerance.grad_tol"
    ),
    bad("unknown-in-matrix", case("[case.matrix]\nbathc = [1, 2]\n"), "matrix.bathc"),
    bad("unknown-in-divergence", case(DIV + 'raise = "TypeError"\n'), "divergence[0].raise"),
    bad(
        "unknown-in-when",
        case(DIV + 'raises = "E"\nmatch = "x"\nwhen = { flavor = ["keras3"] }\n'),
        "divergence[0].when.flavor",
    ),
    # wrong types
    bad("size-as-string", case(batch='"2"'), "batch"),
    bad("boolean-as-string", case('options = { return_sequences = "yes" }\n'), "options.return_sequences"),
    bad("list-as-string", case('paths = "manual_loop"\n'), "paths"),
    bad("table-as-number", case("inputs = 3\n"), "inputs"),
    bad("description-as-number", case("description = 1\n"), "description"),
    bad(
        "specifier-as-number",
        case(DIV + 'raises = "E"\nmatch = "x"\nwhen = { tf = 2.16 }\n'),
        "divergence[0].when.tf",
    ),
    bad(
        "args-value-a-table",
        case('initial_state = { kind = "get_initial_state", args = { batch_size = { n = 1 } } }\n'),
        "initial_state.args.batch_size",
    ),
    bad(
        "array-of-strings",
        tiny('inputs = { kind = "explicit", array = [[["a"]]] }\n'),
        "inputs.array[0][0][0]",
    ),
    bad("array-empty", tiny('inputs = { kind = "explicit", array = [] }\n'), "inputs.array"),
    bad(
        "matrix-value-wrong-type",
        case('[case.matrix]\nreturn_sequences = ["yes"]\n'),
        "matrix.return_sequences[0]",
    ),
    bad(
        "case-not-tables",
        "case = 1\n",
        says="key 'case': 'case' must be one or more tables, written [[case]]",
    ),
    # enum values misspelled
    bad("dtype-misspelled", case('dtypes = ["float23"]\n'), "dtypes[0]"),
    bad("path-misspelled", case('paths = ["fused"]\n'), "paths[0]"),
    bad("device-unknown", case('devices = ["tpu"]\n'), "devices[0]"),
    bad("layer-unknown", case('layer = "transformer"\n'), "layer"),
    bad("activation-misspelled", case('options = { activation = "tahn" }\n'), "options.activation"),
    bad("data-kind-unknown", case('inputs = { kind = "normal" }\n'), "inputs.kind"),
    bad("state-kind-misspelled", case('initial_state = { kind = "zero" }\n'), "initial_state.kind"),
    bad(
        "state-on-unknown",
        case('initial_state = { kind = "get_initial_state", on = "model" }\n'),
        "initial_state.on",
    ),
    bad("check-misspelled", case('[case.expect]\nchecks = ["gradients"]\n'), "expect.checks[0]"),
    bad(
        "flavour-unknown",
        case(DIV + 'raises = "E"\nmatch = "x"\nwhen = { flavour = ["keras4"] }\n'),
        "divergence[0].when.flavour[0]",
    ),
    bad(
        "differs-not-a-check",
        case(DIV + 'differs = [{ check = "output", what = ["output"] }]\n'),
        "divergence[0].differs[0].check",
    ),
    # sizes and ranges
    bad("batch-zero", case(batch="0"), "batch"),
    bad("units-negative", case(units="-3"), "units"),
    bad("timesteps-over-maximum", case(timesteps="10001"), "timesteps"),
    bad("features-over-maximum-in-defaults", "[defaults]\nfeatures = 4097\n" + case(), "defaults.features"),
    bad("matrix-size-zero", case("[case.matrix]\nbatch = [1, 0]\n"), "matrix.batch[1]"),
    bad("seed-negative", case("inputs = { seed = -1 }\n"), "inputs.seed"),
    bad("scale-negative", case('initial_state = { kind = "random", scale = -0.5 }\n'), "initial_state.scale"),
    bad("pinned-atol-negative", case("[case.expect]\natol = -1e-6\n"), "expect.atol"),
    bad(
        "grad-rtol-negative",
        case("[case.expect]\ntolerance = { grad_rtol = -1.0 }\n"),
        "expect.tolerance.grad_rtol",
    ),
    # keys that depend on kind, and on each other
    bad("value-without-constant", case("inputs = { value = 1.0 }\n"), "inputs.value"),
    bad("constant-without-value", case('weights = { kind = "constant" }\n'), "weights.value"),
    bad(
        "seed-with-constant", case('weights = { kind = "constant", value = 0.5, seed = 1 }\n'), "weights.seed"
    ),
    bad("explicit-inputs-without-array", case('inputs = { kind = "explicit" }\n'), "inputs.array"),
    bad(
        "explicit-weights-without-kernel",
        tiny('weights = { kind = "explicit", recurrent_kernel = [[1, 1, 1, 1]] }\n'),
        "weights.kernel",
    ),
    bad(
        "explicit-state-without-states",
        case('initial_state = { kind = "explicit" }\n'),
        "initial_state.states",
    ),
    bad(
        "states-without-explicit",
        tiny('initial_state = { kind = "zeros", states = [[[0.0]], [[0.0]]] }\n'),
        "initial_state.states",
    ),
    bad(
        "args-without-get-initial-state",
        case("initial_state = { args = { batch_size = 2 } }\n"),
        "initial_state.args",
    ),
    bad(
        "match-without-raises",
        case(DIV + 'differs = [{ check = "agreement", what = ["output"] }]\nmatch = "x"\n'),
        "divergence[0].match",
    ),
    bad("raises-without-match", case(DIV + 'raises = "TypeError"\n'), "divergence[0].raises"),
    bad(
        "instead-without-differs",
        case(DIV + 'raises = "E"\nmatch = "x"\ninstead = "mask_dropped"\n'),
        "divergence[0].instead",
    ),
    bad(
        "divergence-without-reason",
        case('[[case.divergence]]\nraises = "TypeError"\n'),
        "divergence[0].reason",
    ),
    bad("raises-not-a-class-name", case(DIV + 'raises = "Type Error"\n'), "divergence[0].raises"),
    # required keys, empty and repeated lists
    bad("id-missing", "[[case]]\n" + "".join(f"{k} = {v}\n" for k, v in SIZES.items()), "id"),
    bad("id-bad-characters", case(case_id="-starts with a dash"), "id"),
    bad("sizes-missing-everywhere", case(sizes={"timesteps": "3", "features": "4", "units": "5"}), "batch"),
    bad(
        "case-list-empty",
        "case = []\n",
        says="key 'case': 'case' must be one or more tables, written [[case]]",
    ),
    bad(
        "contract-list-empty",
        "contract = []\n",
        says="key 'contract': 'contract' must be one or more tables, written [[contract]]",
    ),
    bad("contract-list-empty-beside-cases", "contract = []\n" + case(), "contract"),
    bad("paths-empty", case("paths = []\n"), "paths"),
    bad("dtypes-empty", case("dtypes = []\n"), "dtypes"),
    bad("devices-empty", case("devices = []\n"), "devices"),
    bad("checks-empty", case("[case.expect]\nchecks = []\n"), "expect.checks"),
    bad("matrix-axis-empty", case("[case.matrix]\nunits = []\n"), "matrix.units"),
    bad(
        "divergence-paths-empty", case(DIV + 'raises = "E"\nmatch = "x"\npaths = []\n'), "divergence[0].paths"
    ),
    bad("differs-empty", case(DIV + "differs = []\n"), "divergence[0].differs"),
    bad(
        "when-device-empty",
        case(DIV + 'raises = "E"\nmatch = "x"\nwhen = { device = [] }\n'),
        "divergence[0].when.device",
    ),
    bad("dtypes-repeated", case('dtypes = ["float32", "float32"]\n'), "dtypes"),
    bad(
        "differs-what-repeated",
        case(DIV + 'differs = [{ check = "agreement", what = ["output", "output"] }]\n'),
        "divergence[0].differs[0].what",
    ),
    bad("the-former-fails", case(DIV + 'fails = ["agreement"]\n'), "divergence[0].fails"),
    bad("matrix-size-repeated", case("[case.matrix]\nbatch = [1, 1]\n"), "matrix.batch"),
    bad(
        "matrix-option-repeated",
        case("[case.matrix]\nreturn_sequences = [true, true]\n"),
        "matrix.return_sequences",
    ),
    bad(
        "matrix-repeated-in-defaults", "[defaults.matrix]\nunits = [2, 2]\n" + case(), "defaults.matrix.units"
    ),
    # -- [[contract]] --
    # unknown keys
    bad("contract-unknown-key", contract("argz = { units = 3 }\n"), "argz"),
    bad("contract-unknown-in-expect", contract(expect='{ returns = "list", lenght = 2 }'), "expect.lenght"),
    bad(
        "contract-unknown-in-cell",
        contract('cell = { layer = "LSTMCell", arg = { units = 3 } }\n'),
        "cell.arg",
    ),
    bad(
        "contract-unknown-in-divergence",
        contract(CDIV + 'returns = "list"\nraise = "E"\n'),
        "divergence[0].raise",
    ),
    bad(
        "contract-unknown-in-when",
        contract(CDIV + 'returns = "list"\nwhen = { tf_version = "<2.16" }\n'),
        "divergence[0].when.tf_version",
    ),
    # required keys
    bad("contract-id-missing", contract(contract_id=None), "id"),
    bad("contract-layer-missing", contract(layer=None), "layer"),
    bad("contract-call-missing", contract(call=None), "call"),
    bad("contract-expect-missing", contract(expect=None), "expect"),
    bad("contract-cell-layer-missing", contract("cell = { args = { units = 3 } }\n"), "cell.layer"),
    bad(
        "contract-divergence-without-reason",
        contract('[[contract.divergence]]\nreturns = "list"\n'),
        "divergence[0].reason",
    ),
    # patterns, enums, types and ranges
    bad("contract-id-bad-characters", contract(contract_id="lstm new"), "id"),
    bad("contract-layer-not-a-class", contract(layer='"lstm"'), "layer"),
    bad(
        "contract-cell-layer-not-a-class",
        contract('cell = { layer = "keras.layers.LSTMCell" }\n'),
        "cell.layer",
    ),
    bad("contract-call-camel-case", contract(call='"getInitialState"'), "call"),
    bad("contract-call-dotted", contract(call='"cell.get_initial_state"'), "call"),
    bad("contract-call-not-a-string", contract(call="true"), "call"),
    bad("contract-prepare-unknown", contract('prepare = "build"\n'), "prepare"),
    bad("contract-returns-misspelled", contract(expect='{ returns = "tensors" }'), "expect.returns"),
    bad("contract-returns-python-name", contract(expect='{ returns = "NoneType" }'), "expect.returns"),
    bad("contract-raises-not-a-class-name", contract(expect='{ raises = "Type Error" }'), "expect.raises"),
    bad("contract-length-negative", contract(expect='{ returns = "list", length = -1 }'), "expect.length"),
    bad(
        "contract-shape-not-a-list",
        contract(expect='{ returns = "tensor", shapes = [2, 3] }'),
        "expect.shapes[0]",
    ),
    bad("contract-inputs-empty", contract(WITH_X.replace("[2, 5, 4]", "[]")), "inputs"),
    bad("contract-inputs-zero", contract(WITH_X.replace("5", "0")), "inputs[1]"),
    bad("contract-args-value-a-table", contract("args = { units = { n = 3 } }\n"), "args.units"),
    bad(
        "contract-cell-args-value-a-list-not-a-shape",  # a list of positive integers is a shape
        contract('cell = { layer = "LSTMCell", args = { units = [3, 0] } }\n'),
        "cell.args.units",
    ),
    bad(
        "contract-array-arg-dtype-unknown",
        contract('call_args = { initial_state = { tensor = [2, 3], dtype = "int32" } }\n'),
        "call_args.initial_state",
    ),
    bad(
        "contract-array-arg-unknown-key",
        contract("call_args = { initial_state = { tensor = [2, 3], shape = [2, 3] } }\n"),
        "call_args.initial_state",
    ),
    bad(
        "contract-array-arg-negative-size",
        contract("call_args = { initial_state = [{ numpy = [2, -3] }] }\n"),
        "call_args.initial_state",
    ),
    bad("contract-divergence-returns-unknown", contract(CDIV + 'returns = "lst"\n'), "divergence[0].returns"),
    bad(
        "contract-divergence-the-former-fails",
        contract(CDIV + 'fails = ["returns"]\n'),
        "divergence[0].fails",
    ),
    # keys that need another key
    bad(
        "contract-match-without-raises",
        contract(expect='{ returns = "object", match = "x" }'),
        "expect.match",
    ),
    bad("contract-length-without-returns", contract(expect='{ raises = "E", length = 2 }'), "expect.length"),
    bad(
        "contract-shapes-without-returns",
        contract(expect='{ raises = "E", shapes = [[2]] }'),
        "expect.shapes",
    ),
    bad(
        "contract-divergence-match-without-raises",
        contract(CDIV + 'returns = "list"\nmatch = "x"\n'),
        "divergence[0].match",
    ),
    bad("contract-not-tables", "contract = 1\n", "contract"),
    # A file-level problem has no key path; the kit says what is missing instead (the schema: anyOf).
    bad(
        "no-case-tables",
        "[defaults]\nbatch = 2\n",
        says="no [[case]] tables: "
        "a case file holds [defaults] and one or more [[case]] (or [[contract]]) tables",
    ),
]

# Rejected by the kit only: the JSON Schema cannot express these, so an editor shows the file as valid
# and the kit refuses it at collection. Each entry documents one gap.
KIT_ONLY = [
    # array shapes follow from the sizes (and use_bias), which JSON Schema cannot compute
    bad(
        "explicit-inputs-wrong-shape",
        tiny('inputs = { kind = "explicit", array = [[1.0, 2.0]] }\n'),
        "inputs.array",
    ),
    bad(
        "explicit-array-ragged",
        tiny(
            'weights = { kind = "explicit", kernel = [[1, 1, 1, 1]], '
            "recurrent_kernel = [[1, 1], [1]], bias = [0, 0, 0, 0] }\n"
        ),
        "weights.recurrent_kernel",
    ),
    bad(
        "explicit-bias-missing-with-use-bias",
        tiny(f'weights = {{ kind = "explicit", {W1} }}\n'),
        "weights.bias",
    ),
    bad(
        "explicit-bias-given-without-use-bias",
        tiny(
            "options = { use_bias = false }\n"
            f'weights = {{ kind = "explicit", {W1}, bias = [0, 0, 0, 0] }}\n'
        ),
        "weights.bias",
    ),
    bad(
        "explicit-states-wrong-count",
        tiny('initial_state = { kind = "explicit", states = [[[0.5]]] }\n'),
        "initial_state.states",
    ),
    bad(
        "explicit-state-wrong-shape",
        tiny('initial_state = { kind = "explicit", states = [[[0.5, 1.0]], [[0.5]]] }\n'),
        "initial_state.states[0]",
    ),
    bad("pinned-output-wrong-shape", tiny("[case.expect]\noutput = [[[0.1]]]\n"), "expect.output"),
    bad("pinned-states-wrong-count", tiny("[case.expect]\nstates = [[[0.1]]]\n"), "expect.states"),
    bad("values-check-without-pins", case('[case.expect]\nchecks = ["values"]\n'), "expect.checks"),
    # more than a tensor may hold, though every size is within its maximum
    # (batch is both the first and the largest size, so the key it names does not depend on which is named)
    bad("too-many-elements", case(batch="4096", timesteps="2500", features="2", units="2"), "batch"),
    bad(
        "too-many-elements-in-a-variant",
        case("[case.matrix]\nunits = [1, 4096]\n", features="4096"),
        "matrix",
    ),
    # strings with a grammar of their own
    bad(
        "tf-specifier-invalid",
        case(DIV + 'raises = "E"\nmatch = "x"\nwhen = { tf = "newer than 2.16" }\n'),
        "divergence[0].when.tf",
    ),
    bad(
        "keras-specifier-invalid",
        case(DIV + 'raises = "E"\nmatch = "x"\nwhen = { keras = "3" }\n'),
        "divergence[0].when.keras",
    ),
    bad("match-not-a-regex", case(DIV + 'raises = "E"\nmatch = "("\n'), "divergence[0].match"),
    bad("contract-match-not-a-regex", contract(expect='{ raises = "E", match = "[" }'), "expect.match"),
    bad(
        "contract-tf-specifier-invalid",
        contract(CDIV + 'returns = "list"\nwhen = { tf = "2.16+" }\n'),
        "divergence[0].when.tf",
    ),
    bad(
        "args-unknown-placeholder",
        case('initial_state = { kind = "get_initial_state", args = { batch_size = "{units}" } }\n'),
        "initial_state.args.batch_size",
    ),
    # exactly one of raises / fails (the Field language has no one-of)
    bad(
        "raises-and-differs",
        case(DIV + 'raises = "E"\nmatch = "x"\ndiffers = [{ check = "agreement", what = ["output"] }]\n'),
        "divergence[0]",
    ),
    bad(
        "differs-naming-no-subject",
        case(DIV + 'differs = [{ check = "agreement", what = ["kernel"] }]\n'),
        "divergence[0].differs[0].what[0]",
    ),
    bad("neither-raises-nor-differs", case(DIV), "divergence[0]"),
    # across cases, and across [defaults] and a case
    bad("duplicate-ids", case() + case(), "id"),
    bad("duplicate-ids-case-and-contract", case(case_id="k") + contract(), "id"),
    bad("duplicate-ids-contracts", contract() + contract(), "id"),
    bad(
        "merged-value-under-random",
        '[defaults]\ninputs = { kind = "constant", value = 1.0 }\n' + case('inputs = { kind = "random" }\n'),
        "inputs.value",
    ),
    # JSON cannot tell 2.0 from 2, and a JSON Schema pattern's $ (Python re.search) lets a final newline by
    bad("integer-written-as-float", case(batch="2.0"), "batch"),
    bad("id-trailing-newline", case(case_id="c\\n"), "id"),
    # -- [[contract]]: exactly one of returns / raises, and of numpy / tensor (no one-of in the Field
    # language), and whether the call needs the inputs (it depends on the values of call, prepare, call_args)
    bad(
        "contract-returns-and-raises",
        contract(expect='{ returns = "object", raises = "TypeError" }'),
        "expect",
    ),
    bad("contract-neither-returns-nor-raises", contract(expect="{}"), "expect"),
    bad(
        "contract-array-arg-numpy-and-tensor",
        contract("call_args = { initial_state = { numpy = [2, 3], tensor = [2, 3] } }\n"),
        "call_args.initial_state",
    ),
    bad(
        "contract-array-arg-neither-numpy-nor-tensor",
        contract('call_args = { initial_state = { dtype = "float32" } }\n'),
        "call_args.initial_state",
    ),
    bad(
        "contract-array-arg-in-a-list-neither",
        contract("call_args = { initial_state = [{ numpy = [2, 3] }, {}] }\n"),
        "call_args.initial_state[1]",
    ),
    bad(
        "contract-call-without-inputs", contract(call='"__call__"', expect='{ returns = "tensor" }'), "inputs"
    ),
    bad(
        "contract-prepare-without-inputs",
        contract('prepare = "call"\n', call='"reset_states"', expect='{ returns = "none" }'),
        "inputs",
    ),
    bad(
        "contract-inputs-placeholder-without-inputs",
        contract(
            'call_args = { inputs = "{inputs}" }\n', call='"get_initial_state"', expect='{ returns = "list" }'
        ),
        "inputs",
    ),
    bad(
        "contract-divergence-raises-and-returns",
        contract(CDIV + 'raises = "E"\nmatch = "x"\nreturns = "list"\n'),
        "divergence[0]",
    ),
    bad("contract-divergence-neither", contract(CDIV), "divergence[0]"),
]

# Rejected by the JSON Schema only. The schema judges a case's tables as written, so a partial table that
# relies on [defaults] for its kind is flagged: repeat the kind (clearer anyway). Likewise a size that only
# [defaults.matrix] gives: the schema's size rule looks at the case's own matrix and at [defaults] plain keys.
SCHEMA_ONLY = [
    ok(
        "partial-state-table-kind-from-defaults",
        '[defaults]\ninitial_state = { kind = "random" }\n' + case("initial_state = { seed = 3 }\n"),
    ),
    ok(
        "partial-inputs-table-kind-from-defaults",
        '[defaults]\ninputs = { kind = "constant", value = 1.0 }\n' + case("inputs = { value = 2.0 }\n"),
    ),
    ok(
        "size-only-in-defaults-matrix",
        "[defaults]\ntimesteps = 3\nfeatures = 4\nunits = 5\n[defaults.matrix]\nbatch = [1, 2]\n"
        '[[case]]\nid = "c"\n',
    ),
]

# Accepted by both.
VALID = [
    ok("minimal", case()),
    # Each variant has every size: the matrix alone may give one (checked per variant).
    ok(
        "size-only-in-matrix",
        case("[case.matrix]\nbatch = [1, 2]\n", sizes={"timesteps": "3", "features": "4", "units": "5"}),
    ),
    ok(
        "every-size-only-in-matrix",
        '[[case]]\nid = "c"\n[case.matrix]\n'
        "batch = [1]\ntimesteps = [2, 3]\nfeatures = [4]\nunits = [5, 6]\n",
    ),
    ok(
        "sizes-from-defaults",
        "[defaults]\n" + "".join(f"{k} = {v}\n" for k, v in SIZES.items()) + '[[case]]\nid = "c"\n',
    ),
    ok(
        "every-list-value",
        case(
            'layer = "lstm"\ndescription = "all of them"\n'
            'paths = ["manual_loop", "rnn_wrapper", "fused_layer"]\n'
            'dtypes = ["float32", "float64", "float16", "bfloat16", "mixed_float16"]\n'
            'devices = ["cpu", "gpu"]\n'
        ),
    ),
    ok(
        "every-option",
        case(
            'options = { return_sequences = true, return_state = true, activation = "relu", '
            'recurrent_activation = "linear", use_bias = false }\n'
        ),
    ),
    ok(
        "matrix",
        case(
            '[case.matrix]\nbatch = [1, 2]\nreturn_sequences = [false, true]\nactivation = ["tanh", "relu"]\n'
        ),
    ),
    ok(
        "random-data",
        case(
            'inputs = { kind = "random", seed = 0, scale = 2.5 }\nweights = { seed = 9, scale = 0.1 }\n'
            'initial_state = { kind = "random", seed = 3, scale = 0.9 }\n'
        ),
    ),
    ok(
        "constant-data",
        case(
            'inputs = { kind = "constant", value = 1.0 }\n'
            'weights = { kind = "constant", value = -0.25 }\ninitial_state = { kind = "zeros" }\n'
        ),
    ),
    ok(
        "explicit-data",
        tiny(
            'inputs = { kind = "explicit", array = [[[1.0]]] }\n'
            f'weights = {{ kind = "explicit", {W1}, bias = [0, 0, 0, 0] }}\n'
            'initial_state = { kind = "explicit", states = [[[0.5]], [[-0.5]]] }\n'
        ),
    ),
    ok(
        "explicit-weights-without-bias",
        tiny(f'options = {{ use_bias = false }}\nweights = {{ kind = "explicit", {W1} }}\n'),
    ),
    ok("no-initial-state", case('initial_state = { kind = "none" }\n')),
    ok(
        "get-initial-state",
        case(
            'paths = ["rnn_wrapper", "fused_layer"]\n'
            'initial_state = { kind = "get_initial_state", on = "layer", args = { '
            'batch_size = "{batch}", dtype = "{dtype}", inputs = "{inputs}", flag = true, '
            "n = 2, x = 0.5 } }\n"
        ),
    ),
    ok(
        "expect-everything",
        tiny(
            "options = { return_sequences = true }\n[case.expect]\n"
            'checks = ["shape", "dtype", "initial_state", "gradient", "agreement", "values"]\n'
            "tolerance = { atol = 1e-5, rtol = 1e-4, grad_atol = 1e-3, grad_rtol = 1e-2 }\n"
            "output = [[[0.1]]]\nstates = [[[0.1]], [[0.2]]]\natol = 1e-6\nrtol = 0\n"
        ),
    ),
    ok(
        "divergence-raises",
        case(
            DIV + 'raises = "tensorflow.errors.InvalidArgumentError"\nmatch = "half tensor"\n'
            'paths = ["fused_layer"]\nlink = "https://example.org/issue/1"\n'
            'when = { tf = ">=2.16,<2.19", keras = ">=3", flavour = ["keras2", "keras3", '
            '"tf_keras"], device = ["gpu"], dtype = ["float16"] }\n'
        ),
    ),
    ok(
        "divergence-differs",
        case(
            DIV + 'differs = [{ check = "gradient", what = ["inputs", "state.*"] }, { check = "agreement", '
            'what = ["output"], steps = [0, 1], match = "x" }]\ninstead = "mask_dropped"\n'
        ),
    ),
    ok(
        "defaults-merge",
        "[defaults]\n"
        + "".join(f"{k} = {v}\n" for k, v in SIZES.items())
        + 'options = { return_state = true }\ninputs = { kind = "constant", value = 1.0 }\n'
        + "[defaults.matrix]\nunits = [1, 2]\n"
        + case('options = { return_sequences = true }\ninputs = { kind = "constant", value = 2.0 }\n'),
    ),
    # -- [[contract]] --
    ok("contract-minimal", contract()),
    *(ok(f"contract-returns-{v}", contract(expect=f'{{ returns = "{v}" }}')) for v in CONTAINERS),
    ok(
        "contract-every-key",
        contract(
            'description = "all of them"\nargs = { return_state = true, dropout = 0.0, name = "x" }\n'
            'cell = { layer = "LSTMCell", args = { units = 3 } }\n' + WITH_X + 'prepare = "call"\n'
            'call_args = { initial_state = [{ numpy = [2, 3], dtype = "float64" }, { tensor = [2, 3], '
            'dtype = "float16" }], mask = { tensor = [2, 5] }, training = false, inputs = "{inputs}", n = 2, '
            "x = 0.5 }\n" + CDIV + 'raises = "tensorflow.errors.InvalidArgumentError"\nmatch = "half"\n'
            'link = "https://example.org/issue/1"\nwhen = { tf = "<2.16", keras = "<3", flavour = ["keras2", '
            '"keras3", "tf_keras"], device = ["cpu"], dtype = ["float32"] }\n',
            layer='"RNN"',
            call='"__call__"',
            expect='{ returns = "sequence", length = 3, shapes = [[2, 3], [2, 3], [2, 3]] }',
        ),
    ),
    ok(
        "contract-raises",
        contract(
            'call_args = { batch_size = 2, dtype = "float32" }\n'
            + CDIV
            + (
                'when = { flavour = ["keras2", "tf_keras"] }\nreturns = "list"\nlength = 2\nshapes = '
                "[[2, 3], [2, 3]]\n"
            ),
            layer='"LSTMCell"',
            call='"get_initial_state"',
            expect='{ raises = "TypeError", match = "unexpected keyword argument \'dtype\'" }',
        ),
    ),
    ok("contract-prepare-none-and-unused-inputs", contract('prepare = "none"\n' + WITH_X)),
    ok(
        "contract-empty-shape-and-zero-length",
        contract(expect='{ returns = "tuple", length = 0, shapes = [] }'),
    ),
    ok("contract-method", contract(call='"get_config"', expect='{ returns = "object" }')),
    ok(
        "cases-contracts-and-defaults",
        "[defaults]\n"
        + "".join(f"{k} = {v}\n" for k, v in SIZES.items())
        + '[[case]]\nid = "c"\n'
        + contract()
        + '[[case]]\nid = "d"\n',
    ),
]

# Where the Field tree (fields.check of CASE_FILE) and its JSON rendering legitimately differ.
FIELD_TREE_STRICTER = {"integer-written-as-float", "id-trailing-newline"}  # JSON-isms, see KIT_ONLY
# The schema's own size rule, and its "at least one of case, contract" (the field tree says it in casefile).
SCHEMA_STRICTER = {"sizes-missing-everywhere", "size-only-in-defaults-matrix", "no-case-tables"}


# -- helpers ---------------------------------------------------------------------------------------------


def kit_error(text: str, tmp_path: Path) -> CaseFileError | None:
    """What the kit says about a file, as collection would load it; None if it loads."""
    path = tmp_path / "example.toml"
    path.write_text(text, encoding="utf-8")
    try:
        casefile.load(path)
    except CaseFileError as exc:
        return exc
    return None


def schema_errors(text: str) -> list[str]:
    data = tomllib.loads(text)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in VALIDATOR.iter_errors(data)
    ]


def field_tree_accepts(text: str) -> bool:
    try:
        check(tomllib.loads(text), schema.CASE_FILE)
    except CaseFileError:
        return False
    return True


# -- the shipped schema file -----------------------------------------------------------------------------


def test_shipped_schema_is_current() -> None:
    assert schema.SCHEMA_PATH.read_text(encoding="utf-8") == schema.render_json_schema(), (
        "conformance/case.schema.json is stale: run  python -m conformance schema"
    )


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(schema.SCHEMA_PATH.read_text(encoding="utf-8")))


def test_cli_check_passes_on_the_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_cli_writes_and_detects_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "case.schema.json"
    monkeypatch.setattr(schema, "SCHEMA_PATH", target)
    assert cli.main(["schema", "--check"]) == 1
    assert "is missing" in capsys.readouterr().err
    assert cli.main(["schema"]) == 0
    assert target.read_text(encoding="utf-8") == schema.render_json_schema()
    target.write_text(schema.render_json_schema().replace("Batch size.", "Batch."), encoding="utf-8")
    assert cli.main(["schema", "--check"]) == 1
    assert "python -m conformance schema" in capsys.readouterr().err


def test_cli_requires_a_command() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2


# -- kit and schema agree ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED_CASES, ids=lambda p: p.name)
def test_shipped_case_files_are_valid_for_both(path: Path) -> None:
    assert casefile.load(path)
    text = path.read_text(encoding="utf-8")
    assert schema_errors(text) == []
    assert field_tree_accepts(text)


def test_there_are_shipped_case_files() -> None:
    assert len(SHIPPED_CASES) >= 3


@pytest.mark.parametrize(("text", "names"), INVALID)
def test_invalid_rejected_by_both(text: str, names: str, tmp_path: Path) -> None:
    error = kit_error(text, tmp_path)
    assert error is not None, f"the kit accepted:\n{text}"
    assert names in str(error), f"the kit's error does not name {names}: {error}"
    assert schema_errors(text), f"the JSON Schema accepted:\n{text}"


@pytest.mark.parametrize(("text", "names"), KIT_ONLY)
def test_kit_only_rejections(text: str, names: str, tmp_path: Path) -> None:
    """The kit refuses these and the schema cannot: if the schema learns one, move it to INVALID."""
    error = kit_error(text, tmp_path)
    assert error is not None, f"the kit accepted:\n{text}"
    assert names in str(error), f"the kit's error does not name {names}: {error}"
    assert schema_errors(text) == [], "the schema now rejects this too: move it to INVALID"


@pytest.mark.parametrize("text", SCHEMA_ONLY)
def test_schema_only_rejections(text: str, tmp_path: Path) -> None:
    """The schema is stricter than the kit here; if the kit starts refusing one, move it to INVALID."""
    assert kit_error(text, tmp_path) is None
    assert schema_errors(text)


@pytest.mark.parametrize("text", VALID)
def test_valid_accepted_by_both(text: str, tmp_path: Path) -> None:
    path = tmp_path / "example.toml"
    path.write_text(text, encoding="utf-8")
    assert casefile.load(path)
    assert schema_errors(text) == []


@pytest.mark.parametrize(
    ("name", "text"),
    [(p.id, p.values[0]) for p in (*INVALID, *KIT_ONLY, *SCHEMA_ONLY, *VALID)],
    ids=[p.id for p in (*INVALID, *KIT_ONLY, *SCHEMA_ONLY, *VALID)],
)
def test_field_tree_and_its_json_rendering_agree(name: str, text: str) -> None:
    """``fields.check(data, CASE_FILE)`` and the JSON Schema judge the file as written the same way."""
    by_fields, by_schema = field_tree_accepts(text), not schema_errors(text)
    if name in FIELD_TREE_STRICTER:
        assert (by_fields, by_schema) == (False, True)
    elif name in SCHEMA_STRICTER:
        assert (by_fields, by_schema) == (True, False)
    else:
        assert by_fields == by_schema, schema_errors(text)


def test_schema_refuses_a_file_without_entries() -> None:
    assert schema_errors("[defaults]\nbatch = 2\n")


# -- where the kit says the problem is -----------------------------------------------------------------------

NO_ID_CASE = "[[case]]\n" + "".join(f"{k} = {v}\n" for k, v in SIZES.items())


@pytest.mark.parametrize(
    ("text", "label"),
    [
        pytest.param(NO_ID_CASE, "case #1: key 'id'", id="first-case"),
        pytest.param(case() + NO_ID_CASE, "case #2: key 'id'", id="second-case"),
        pytest.param(contract(contract_id=None), "contract #1: key 'id'", id="first-contract"),
        pytest.param(
            contract() + contract(contract_id=None, layer='"?"'),
            "contract #2: key 'layer'",
            id="second-contract",
        ),
        pytest.param(
            case() + case(case_id="d") + contract(contract_id=None),
            "contract #1: key 'id'",
            id="first-contract-after-cases",
        ),
    ],
)
def test_entry_without_id_is_named_by_kind_and_position(text: str, label: str, tmp_path: Path) -> None:
    """An entry with no (string) id is named in errors as the N-th [[case]] or [[contract]] of its file."""
    error = kit_error(text, tmp_path)
    assert error is not None
    assert label in str(error), str(error)


# -- the docs ----------------------------------------------------------------------------------------------


def key_names(f: Field) -> set[str]:
    """Every key the format knows, at any depth."""
    names: set[str] = set()
    for name, sub in (f.fields or {}).items():
        names |= {name} | key_names(sub)
    for sub in (f.items, f.values, *f.options):
        if sub is not None:
            names |= key_names(sub)
    return names


def enum_values(f: Field) -> set[str]:
    found = {str(v) for v in f.enum or ()}
    for sub in (*(f.fields or {}).values(), f.items, f.values, *f.options):
        if sub is not None:
            found |= enum_values(sub)
    return found


def test_docs_name_every_key() -> None:
    """Each key has a row of its own in a reference table (``| `name` | ...``): a mention in prose or in
    another key's row does not count, since short names (``atol``, ``kind``) recur all over the page."""
    text = DOCS.read_text(encoding="utf-8")
    missing = sorted(n for n in key_names(schema.CASE_FILE) if not re.search(rf"^\| `{n}` \|", text, re.M))
    assert not missing, f"docs/case-format.md has no table row | `name` | for: {', '.join(missing)}"


def test_docs_name_every_allowed_value() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = sorted(
        v for v in enum_values(schema.CASE_FILE) if f"`{v}`" not in text and f'"{v}"' not in text
    )
    assert not missing, f"docs/case-format.md does not mention allowed values: {', '.join(missing)}"


@pytest.mark.parametrize("page", ["README.md", "docs/case-format.md"])
def test_every_case_file_the_docs_show_loads(page: str, tmp_path: Path) -> None:
    """A ```toml block with a [[case]] or [[contract]] table is a case file a reader copies: it loads (a
    README example with a key the kit refuses went unnoticed once) and the JSON Schema accepts it."""
    text = (REPO / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    whole = [b for b in blocks if re.search(r"^\[\[(case|contract)\]\]", b, flags=re.MULTILINE)]
    assert whole, f"{page} shows no case file"
    for block in whole:
        path = tmp_path / "shown.toml"
        path.write_text(block, encoding="utf-8")
        assert casefile.load(path), block
        assert schema_errors(block) == [], block


def test_docs_complete_examples_are_valid(tmp_path: Path) -> None:
    """The docs' complete files (```toml blocks starting with #:schema) load and validate."""
    blocks = re.findall(r"```toml\n(#:schema .*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "docs/case-format.md has no complete example"
    for block in blocks:
        path = tmp_path / "docs_example.toml"
        path.write_text(block, encoding="utf-8")
        assert casefile.load(path)
        assert schema_errors(block) == []
