"""Malformed case files: one clean collection error each, located and explained; the rest still collects.

No TensorFlow needed. Every error must name the file, the line of the case's id, the case id and the key
path, say what was expected and what was found, and carry no traceback from the kit.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import forked
import pytest
from conftest import assert_no_kit_traceback, collected_ids

# The bad case is the second of its file, below [defaults] and a valid case: its id is on line 12.
TEMPLATE = """\
# a case file with one bad case
[defaults]
batch = 1
timesteps = 2
features = 2
units = 2

[[case]]
id = "fine"

[[case]]
id = "the-bad-one"
{body}
"""
BAD_LINE = 12
GOOD = '[[case]]\nid = "good"\nbatch = 1\ntimesteps = 2\nfeatures = 2\nunits = 2\ndevices = ["cpu"]\n'
GOOD_ITEMS = sorted(
    f"good.toml::good[{p}-call-eager-float32-cpu]" for p in ("manual_loop", "rnn_wrapper", "fused_layer")
)


@dataclass(frozen=True)
class Bad:
    """A bad case body, the key path the error must name and the fragments its message must contain."""

    body: str
    key: str
    says: tuple[str, ...]
    index_ok: bool = False  # the key may also name the list element: 'matrix.batch' or 'matrix.batch[0]'


DIV = "[[case.divergence]]\n"
CONST = 'inputs = { kind = "constant", value = 0.5 }\n'  # the same inputs at every step
BAD_CASES: dict[str, Bad] = {
    # unknown keys, with a suggestion
    "unknown key in case": Bad(
        "optoins = { return_state = true }", "optoins", ("unknown key", "did you mean 'options'?")
    ),
    "unknown key in options": Bad(
        "options = { return_stat = true }",
        "options.return_stat",
        ("unknown key", "did you mean 'return_state'?"),
    ),
    "unknown key in initial_state": Bad(
        'initial_state = { kind = "random", sede = 3 }',
        "initial_state.sede",
        ("unknown key", "did you mean 'seed'?"),
    ),
    "unknown key in divergence": Bad(
        DIV + 'raises = "TypeError"\nreasn = "x"',
        "divergence[0].reasn",
        ("unknown key", "did you mean 'reason'?"),
    ),
    "unknown key in expect.tolerance": Bad(
        "expect = { tolerance = { atoll = 1e-3 } }",
        "expect.tolerance.atoll",
        ("unknown key", "did you mean 'atol'?"),
    ),
    # wrong types
    "string size": Bad('batch = "1"', "batch", ("expected an integer", "found string '1'")),
    "float size": Bad("units = 2.5", "units", ("expected an integer", "found float 2.5")),
    "string boolean": Bad(
        'options = { return_state = "yes" }',
        "options.return_state",
        ("expected true or false", "found string 'yes'"),
    ),
    "scalar for a list": Bad('dtypes = "float32"', "dtypes", ("expected a list", "found string 'float32'")),
    "string for a number": Bad(
        'inputs = { kind = "constant", value = "one" }',
        "inputs.value",
        ("expected a number", "found string 'one'"),
    ),
    "table for a string": Bad("description = { a = 1 }", "description", ("expected a string", "found table")),
    # enum typos
    "path typo": Bad(
        'paths = ["fused_layr"]',
        "paths[0]",
        (
            "expected one of 'manual_loop', 'rnn_wrapper', 'fused_layer'",
            "found string 'fused_layr'",
            "did you mean 'fused_layer'?",
        ),
    ),
    "dtype typo": Bad(
        'dtypes = ["float32", "flaot16"]', "dtypes[1]", ("found string 'flaot16'", "did you mean 'float16'?")
    ),
    "device typo": Bad('devices = ["gpus"]', "devices[0]", ("found string 'gpus'", "did you mean 'gpu'?")),
    "activation typo": Bad(
        'options = { activation = "tanhh" }',
        "options.activation",
        ("found string 'tanhh'", "did you mean 'tanh'?"),
    ),
    "state kind typo": Bad(
        'initial_state = { kind = "randm" }',
        "initial_state.kind",
        ("found string 'randm'", "did you mean 'random'?"),
    ),
    "check typo": Bad(
        'expect = { checks = ["agrement"] }',
        "expect.checks[0]",
        ("found string 'agrement'", "did you mean 'agreement'?"),
    ),
    # sizes
    "zero size": Bad("batch = 0", "batch", ("expected an integer from 1 to", "found integer 0")),
    "negative size": Bad("units = -3", "units", ("expected an integer from 1 to", "found integer -3")),
    "huge size": Bad(
        "timesteps = 100000", "timesteps", ("expected an integer from 1 to", "found integer 100000")
    ),
    "on layer with the manual loop": Bad(
        'initial_state = { kind = "get_initial_state", on = "layer" }',
        "initial_state.on",
        ("the manual loop has no layer",),
    ),
    "element-count limit": Bad(
        # The error names the largest size, the likeliest culprit.
        "batch = 4096\ntimesteps = 10000",
        "timesteps",
        ("81,920,000 elements", "refuses more than 20,000,000"),
    ),
    # explicit arrays of the wrong shape
    "inputs shape": Bad(
        'inputs = { kind = "explicit", array = [[[1.0, 2.0]]] }',
        "inputs.array",
        ("expected an array of shape (1, 2, 2)", "found shape (1, 1, 2)"),
    ),
    "ragged inputs": Bad(
        'inputs = { kind = "explicit", array = [[[1.0, 2.0], [3.0]]] }', "inputs.array", ("ragged",)
    ),
    "kernel shape": Bad(
        'weights = { kind = "explicit", kernel = [[0.0]], recurrent_kernel = [[0.0]], bias = [0.0] }',
        "weights.kernel",
        ("expected an array of shape (2, 8)", "found shape (1, 1)"),
    ),
    "pinned output shape": Bad(
        "expect = { output = [[0.0]] }",
        "expect.output",
        ("expected an array of shape (1, 2)", "found shape (1, 1)"),
    ),
    "explicit state shape": Bad(
        'initial_state = { kind = "explicit", states = [[[0.0, 0.0]], [[0.0]]] }',
        "initial_state.states[1]",
        ("expected an array of shape (1, 2)", "found shape (1, 1)"),
    ),
    "explicit state count": Bad(
        'initial_state = { kind = "explicit", states = [[[0.0, 0.0]]] }',
        "initial_state.states",
        ("expected 2 state array(s), found 1",),
    ),
    # divergences
    "bad version specifier": Bad(
        DIV + 'when = { tf = ">=2.x" }\nraises = "TypeError"\nmatch = "x"\nreason = "r"',
        "divergence[0].when.tf",
        ("not a version specifier", "'>=2.x'"),
    ),
    "bad specifier in the second divergence": Bad(
        DIV
        + 'raises = "TypeError"\nmatch = "x"\nreason = "ok"\n'
        + DIV
        + 'when = { keras = "3" }\nraises = "X"\nmatch = "x"\nreason = "r"',
        "divergence[1].when.keras",
        ("not a version specifier", "'3'"),
    ),
    "invalid regex": Bad(
        DIV + 'raises = "TypeError"\nmatch = "(unclosed"\nreason = "r"',
        "divergence[0].match",
        ("not a regular expression",),
    ),
    "raises and differs": Bad(
        DIV
        + (
            'raises = "TypeError"\nmatch = "x"\ndiffers = [{ check = "agreement", what = ["output"] '
            '}]\nreason = "r"'
        ),
        "divergence[0]",
        ("exactly one of 'raises'", "'differs'"),
    ),
    "neither raises nor differs": Bad(DIV + 'reason = "r"', "divergence[0]", ("exactly one of 'raises'",)),
    "dropout_inert from a zero state": Bad(
        "options = { dropout = 0.5 }\nexpect = { dropout_inert = true }",
        "expect.dropout_inert",
        ("dropout_inert needs a state to carry", "initial_state kind 'random'"),
    ),
    "dropout_inert with no dropout": Bad(
        'initial_state = { kind = "random" }\nexpect = { dropout_inert = true }',
        "expect.dropout_inert",
        ("dropout_inert is what the dropout check asserts: it needs dropout or recurrent_dropout > 0",),
    ),
    "dropout_inert with the dropout check left out": Bad(
        'options = { dropout = 0.5 }\ninitial_state = { kind = "random" }\n'
        'expect = { dropout_inert = true, checks = ["shape"] }',
        "expect.dropout_inert",
        ("it needs 'dropout' in expect.checks",),
    ),
    "dropout_mask over random inputs": Bad(
        'options = { dropout = 0.5, return_sequences = true }\nexpect = { dropout_mask = "per_sequence" }',
        "expect.dropout_mask",
        ("needs inputs that are the same at every step: inputs kind 'random' draws each step anew",),
    ),
    "dropout_mask over explicit inputs that change in time": Bad(
        'inputs = { kind = "explicit", array = [[[0.5, 0.5], [0.5, 0.4]]] }\n'
        "options = { dropout = 0.5, return_sequences = true }\n"
        'expect = { dropout_mask = "per_sequence" }',
        "expect.dropout_mask",
        ("inputs.array differs between steps",),
    ),
    "dropout_mask with recurrent dropout alone": Bad(
        CONST + "options = { recurrent_dropout = 0.5, return_sequences = true }\n"
        'expect = { dropout_mask = "per_sequence" }',
        "expect.dropout_mask",
        ("it needs dropout > 0",),
    ),
    "dropout_mask with the last output only": Bad(
        CONST + 'options = { dropout = 0.5 }\nexpect = { dropout_mask = "per_step" }',
        "expect.dropout_mask",
        ("it needs return_sequences = true",),
    ),
    "dropout_mask with the dropout check left out": Bad(
        CONST + "options = { dropout = 0.5, return_sequences = true }\n"
        'expect = { dropout_mask = "per_sequence", checks = ["shape"] }',
        "expect.dropout_mask",
        ("it needs 'dropout' in expect.checks",),
    ),
    "dropout_mask and dropout_inert": Bad(
        CONST + 'initial_state = { kind = "random" }\noptions = { dropout = 0.5, return_sequences = true }\n'
        'expect = { dropout_mask = "per_sequence", dropout_inert = true }',
        "expect.dropout_mask",
        ("dropout_inert says there is none",),
    ),
    "dropout_mask with a mask": Bad(
        CONST + "options = { dropout = 0.5, return_sequences = true }\nmask = { lengths = [1] }\n"
        'expect = { dropout_mask = "per_sequence" }',
        "expect.dropout_mask",
        ("needs every step's output",),
    ),
    "dropout_mask of an unknown kind": Bad(
        CONST + "options = { dropout = 0.5, return_sequences = true }\n"
        'expect = { dropout_mask = "per_batch" }',
        "expect.dropout_mask",
        ("per_sequence", "per_step"),
    ),
    "missing reason": Bad(
        DIV + 'raises = "TypeError"\nmatch = "x"', "divergence[0].reason", ("missing required key",)
    ),
    "match without raises": Bad(
        DIV + 'differs = [{ check = "agreement", what = ["output"] }]\nmatch = "x"\nreason = "r"',
        "divergence[0].match",
        ("'raises'",),
    ),
    "raises without match": Bad(
        DIV + 'raises = "TypeError"\nreason = "r"',
        "divergence[0].raises",
        ("only allowed together with 'match'",),
    ),
    "the former fails": Bad(
        DIV + 'fails = ["agreement"]\nreason = "r"',
        "divergence[0].fails",
        (
            "'fails' excused whole checks and is gone",
            'differs = [{ check = "agreement", what = ["output"] }]',
        ),
    ),
    "differs without what": Bad(
        DIV + 'differs = [{ check = "agreement" }]\nreason = "r"',
        "divergence[0].differs[0].what",
        ("missing required key",),
    ),
    "differs naming a subject the check does not report": Bad(
        DIV + 'differs = [{ check = "agreement", what = ["outptu"] }]\nreason = "r"',
        "divergence[0].differs[0].what[0]",
        (
            "'outptu' names nothing check 'agreement' reports for this layer",
            "subjects: output, state.h, state.c",
        ),
    ),
    "differs naming a state the layer does not have": Bad(
        DIV + 'differs = [{ check = "gradient", what = ["state.x*"] }]\nreason = "r"',
        "divergence[0].differs[0].what[0]",
        ("'state.x*' names nothing check 'gradient' reports", "state.h, state.c, kernel"),
    ),
    "differs with a bad message pattern": Bad(
        DIV + 'differs = [{ check = "agreement", what = ["output"], match = "(unclosed" }]\nreason = "r"',
        "divergence[0].differs[0].match",
        ("not a regular expression",),
    ),
    "instead without differs": Bad(
        DIV + 'raises = "E"\nmatch = "x"\ninstead = "mask_dropped"\nreason = "r"',
        "divergence[0].instead",
        ("only allowed together with 'differs'",),
    ),
    "unknown instead": Bad(
        DIV + 'differs = [{ check = "agreement", what = ["output"] }]\ninstead = "mask_dropt"\nreason = "r"',
        "divergence[0].instead",
        ("did you mean 'mask_dropped'?",),
    ),
    "flavour typo": Bad(
        DIV + 'when = { flavour = ["keras33"] }\nraises = "E"\nmatch = "x"\nreason = "r"',
        "divergence[0].when.flavour[0]",
        ("found string 'keras33'", "did you mean 'keras3'?"),
    ),
    # initial_state.args placeholders
    "bad placeholder": Bad(
        'initial_state = { kind = "get_initial_state", args = { batch_size = "{batchsize}" } }',
        "initial_state.args.batch_size",
        ("unknown placeholder '{batchsize}'", "'{batch}'"),
    ),
    # matrix
    "matrix unknown key": Bad(
        "[case.matrix]\ncolour = [1, 2]", "matrix.colour", ("batch", "return_sequences")
    ),
    "matrix value of the wrong type": Bad(
        '[case.matrix]\nreturn_sequences = ["yes", "no"]',
        "matrix.return_sequences",
        ("expected", "found string 'yes'"),
        True,
    ),
    "matrix value not a list": Bad(
        "[case.matrix]\nbatch = 2", "matrix.batch", ("expected a list", "found integer 2")
    ),
    # options a family does not have, and combinations the kit refuses by name
    "an option of another family": Bad(
        'layer = "simple_rnn"\noptions = { recurrent_activation = "tanh" }',
        "options.recurrent_activation",
        ("not an option of layer 'simple_rnn'", "it takes"),
    ),
    "reset_after on an lstm": Bad(
        "options = { reset_after = false }", "options.reset_after", ("not an option of layer 'lstm'",)
    ),
    "stateful with the manual loop": Bad(
        "options = { stateful = true }", "options.stateful", ("manual loop holds its states itself",)
    ),
    "dropout rate of 1": Bad(
        "options = { dropout = 1.0 }", "options.dropout", ("from 0 to 0.99", "found float 1.0")
    ),
    "dropout check without dropout": Bad(
        'expect = { checks = ["dropout"] }', "expect.checks", ("needs options with dropout",)
    ),
    "unknown mode": Bad('modes = ["graph"]', "modes[0]", ("one of 'eager', 'function', 'xla'",)),
    "mask lengths per row": Bad(
        "mask = { lengths = [2, 1] }", "mask.lengths", ("2 lengths for a batch of 1",)
    ),
    "mask longer than the sequence": Bad(
        "mask = { lengths = [3] }", "mask.lengths", ("a length of 3 in a sequence of 2 steps",)
    ),
    "stack with the fused layer": Bad("stack = 2", "stack", ("no fused layer stacks cells",)),
    "stack of one": Bad('stack = 1\npaths = ["rnn_wrapper"]', "stack", ("from 2 to 8", "found integer 1")),
    "stack and bidirectional": Bad(
        'stack = 2\npaths = ["rnn_wrapper"]\nbidirectional = {}',
        "stack",
        ("say one of stack or bidirectional",),
    ),
    "unknown merge mode": Bad(
        'bidirectional = { merge_mode = "max" }', "bidirectional.merge_mode", ("one of 'concat'",)
    ),
    "zero_output_for_mask under Bidirectional": Bad(
        "bidirectional = {}\noptions = { zero_output_for_mask = true }",
        "options.zero_output_for_mask",
        ("Bidirectional sets its layers' zero_output_for_mask",),
    ),
    "get_initial_state under Bidirectional": Bad(
        'bidirectional = {}\ninitial_state = { kind = "get_initial_state" }',
        "initial_state.kind",
        ("Bidirectional has no get_initial_state",),
    ),
    "explicit weights for a stack": Bad(
        'stack = 2\npaths = ["rnn_wrapper"]\n'
        'weights = { kind = "explicit", kernel = 1, recurrent_kernel = 1 }',
        "weights.kind",
        ("one set per cell",),
    ),
}


def error_lines(output: str, filename: str) -> list[str]:
    """Lines of the run's output that carry a located error for ``filename``."""
    return [line for line in output.splitlines() if f"{filename}:" in line and not line.startswith("ERROR ")]


def run_collect(pytester: pytest.Pytester) -> tuple[pytest.RunResult, str]:
    pytester.makefile(".toml", good=GOOD)
    result = pytester.runpytest("--co", "-q")
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert_no_kit_traceback(output)
    assert sorted(collected_ids(result.outlines)) == GOOD_ITEMS, output  # the valid file still collects
    return result, output


@pytest.mark.parametrize("name", list(BAD_CASES))
def test_bad_case_is_one_located_error(pytester: pytest.Pytester, name: str) -> None:
    """One collection error for the file: file, id line, case id, key path, expected/found."""
    bad = BAD_CASES[name]
    pytester.makefile(".toml", bad=TEMPLATE.format(body=bad.body))
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1, output
    assert output.count("ERROR collecting bad.toml") == 1, output
    lines = error_lines(output, "bad.toml")
    assert len(lines) == 1, output
    pattern = re.escape(f"bad.toml:{BAD_LINE}: case 'the-bad-one': key '{bad.key}")
    pattern += r"(?:\[\d+\])?': " if bad.index_ok else "': "
    found = re.search(pattern, lines[0])
    assert found, f"{pattern!r} not in {lines[0]!r}"
    message = lines[0][found.end() :]
    for fragment in bad.says:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_broken_toml(pytester: pytest.Pytester) -> None:
    """Invalid TOML: the file and the parser's line and column."""
    pytester.makefile(".toml", bad=TEMPLATE.format(body="units = = 2"))
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1
    (line,) = error_lines(output, "bad.toml")
    assert "not valid TOML" in line and f"line {BAD_LINE + 1}" in line, line


def test_not_utf8(pytester: pytest.Pytester) -> None:
    """Bytes that are not UTF-8: a clean error naming the file and where the bad byte is."""
    text = TEMPLATE.format(body="description = 'caf\u00e9'").encode("latin-1")
    (pytester.path / "bad.toml").write_bytes(text)
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1
    (line,) = error_lines(output, "bad.toml")
    assert "UTF-8" in line and f"byte {text.index(0xE9)}" in line, line


def test_unknown_top_level_key(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", bad='colour = "red"\n' + TEMPLATE.format(body=""))
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1
    (line,) = error_lines(output, "bad.toml")
    assert "key 'colour'" in line and "unknown top-level key" in line, line


def test_misspelled_defaults_table(pytester: pytest.Pytester) -> None:
    """``[default]`` instead of ``[defaults]``: named as an unknown top-level key, pointing at [defaults]."""
    pytester.makefile(".toml", bad=TEMPLATE.format(body="").replace("[defaults]", "[default]"))
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1
    (line,) = error_lines(output, "bad.toml")
    assert "key 'default'" in line and "[defaults]" in line, line


def test_unknown_key_in_defaults(pytester: pytest.Pytester) -> None:
    """A bad key in [defaults] is reported against [defaults], with the key path and a suggestion."""
    pytester.makefile(".toml", bad=TEMPLATE.format(body="").replace("units = 2", "unitz = 2"))
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1
    (line,) = error_lines(output, "bad.toml")
    assert "case '[defaults]': key 'defaults.unitz': unknown key" in line, line
    assert "did you mean 'units'?" in line, line


def test_case_without_id(pytester: pytest.Pytester) -> None:
    """A case with no id is named by its position."""
    pytester.makefile(".toml", bad=TEMPLATE.format(body="").replace('id = "the-bad-one"', "batch = 1"))
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1
    (line,) = error_lines(output, "bad.toml")
    assert re.search(r"case #2: key 'id': missing required key", line), line


def test_several_bad_files_one_error_each(pytester: pytest.Pytester) -> None:
    """Three bad files, three errors (one per file, each its own), and the good file still listed."""
    for name, key in (("one", "path typo"), ("two", "zero size"), ("three", "missing reason")):
        pytester.makefile(".toml", **{name: TEMPLATE.format(body=BAD_CASES[key].body)})
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 3, output
    for name, key in (("one", "paths[0]"), ("two", "batch"), ("three", "divergence[0].reason")):
        (line,) = error_lines(output, f"{name}.toml")
        assert f"{name}.toml:{BAD_LINE}: case 'the-bad-one': key '{key}'" in line, line


def test_errors_do_not_depend_on_position(pytester: pytest.Pytester) -> None:
    """The line is the bad case's own id line, wherever the case sits in the file."""
    body = textwrap.dedent(
        """\
        [[case]]
        id = "first"
        batch = 1
        timesteps = 2
        features = 2
        units = 2
        paths = ["fused_layr"]
        """
    )
    pytester.makefile(".toml", bad=body)
    _result, output = run_collect(pytester)
    (line,) = error_lines(output, "bad.toml")
    assert "bad.toml:2: case 'first': key 'paths[0]'" in line, line


@pytest.mark.requires_tf
@pytest.mark.parametrize("dist", [["-p", "no:xdist"], ["-n", "2"]], ids=["in-process", "xdist"])
def test_a_bad_file_does_not_stop_a_real_run(pytester: pytest.Pytester, dist: list[str]) -> None:
    """README's promise, in a real run: the malformed file is one clean error, the good file's items run
    and pass, and the exit status is non-zero."""
    pytester.makefile(".toml", good=GOOD, bad=TEMPLATE.format(body="batch = 0"))
    result = forked.runpytest(pytester, "-p", "no:cacheprovider", *dist)
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*bad.toml:12: case 'the-bad-one': key 'batch': expected an integer*"])
    result.stdout.no_fnmatch_line("*Interrupted*")
    assert_no_kit_traceback(result.stdout.str())


@pytest.mark.requires_tf
def test_a_broken_python_test_module_still_stops_the_run(pytester: pytest.Pytester) -> None:
    """Only case-file errors are let through: pytest's own rule holds for everything else."""
    pytester.makefile(".toml", good=GOOD)
    pytester.makepyfile(test_broken="import no_such_module_anywhere\n")
    result = forked.runpytest(pytester, "-p", "no:cacheprovider", "-p", "no:xdist")
    assert result.ret == 2, result.stdout.str()
    result.stdout.fnmatch_lines(["*Interrupted: 1 error during collection*"])


# A file-wide [[divergence]] after the template's two cases: its header is on line 15.
SHARED = TEMPLATE.format(body="") + "\n[[divergence]]\n{body}\n"
SHARED_LINE = 15
SHARED_OK = 'differs = [{ check = "agreement", what = ["output"] }]\nreason = "r"'


@pytest.mark.parametrize(
    ("body", "key", "says"),
    [
        (
            f'cases = ["fine", "nope"]\n{SHARED_OK}',
            "cases[1]",
            "'nope' is the id of no [[case]] of this file",
        ),
        (SHARED_OK.replace("differs", "diffrs"), "diffrs", "did you mean 'differs'?"),
        (SHARED_OK.replace('reason = "r"', ""), "reason", "missing required key"),
        (f'when = {{ tf = "2.16" }}\n{SHARED_OK}', "when.tf", "not a version specifier"),
    ],
    ids=["unknown case id", "misspelled key", "no reason", "bad specifier"],
)
def test_a_bad_file_wide_divergence_is_one_error_naming_it(
    pytester: pytest.Pytester, body: str, key: str, says: str
) -> None:
    """Validated once, and named by its position and line, not by the cases it applies to."""
    pytester.makefile(".toml", bad=SHARED.format(body=body))
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1, output
    (line,) = error_lines(output, "bad.toml")
    assert f"bad.toml:{SHARED_LINE}: [[divergence]] #1: key '{key}': " in line, line
    assert says in line, line
    if key == "cases[1]":  # docs/case-format.md shows this one
        shown = "'nope' is the id of no [[case]] of this file (its cases: 'fine', 'the-bad-one')"
        assert line.endswith(shown), line


def test_a_file_wide_divergence_naming_another_layer_s_subject_names_the_case_and_the_table(
    pytester: pytest.Pytester,
) -> None:
    """Subjects depend on the layer: checked per case, and the error says which table the case got it from."""
    body = 'differs = [{ check = "agreement", what = ["state.c"] }]\nreason = "r"'
    text = SHARED.format(body=body).replace('id = "the-bad-one"', 'id = "the-bad-one"\nlayer = "gru"')
    pytester.makefile(".toml", bad=text)
    result, output = run_collect(pytester)
    assert result.parseoutcomes().get("errors") == 1, output
    (line,) = error_lines(output, "bad.toml")
    assert f"bad.toml:{BAD_LINE}: case 'the-bad-one': key 'divergence[0].differs[0].what[0]': " in line, line
    assert "'state.c' names nothing check 'agreement' reports" in line, line
    assert "(in the file's [[divergence]] #1, which this case gets)" in line, line


def test_an_empty_list_of_file_wide_divergences_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", bad="divergence = []\n" + TEMPLATE.format(body=""))
    _result, output = run_collect(pytester)
    (line,) = error_lines(output, "bad.toml")
    assert "key 'divergence': 'divergence' must be one or more tables, written [[divergence]]" in line, line


def test_a_file_wide_divergence_in_a_file_of_contracts_is_refused(pytester: pytest.Pytester) -> None:
    """Contracts never get it: declared where no case can, it is an error, not a declaration of nothing."""
    contract = '[[contract]]\nid = "k"\nlayer = "LSTMCell"\nargs = { units = 3 }\ncall = "get_config"\n'
    pytester.makefile(".toml", bad=contract + "\n[[divergence]]\n" + SHARED_OK + "\n")
    _result, output = run_collect(pytester)
    (line,) = error_lines(output, "bad.toml")
    assert "bad.toml:7: [[divergence]] #1: a file-wide divergence is added to the file's [[case]]" in line, (
        line
    )
