"""Collection: which files become case files, item ids, markers, options, duplicates. No TensorFlow needed.

Expected ids and counts are computed here from the TOML itself (the documented naming rule
``{case_id}[{variant-}{path}-{dtype}-{device}]``), not by asking the kit.
"""

from __future__ import annotations

import itertools
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES, assert_no_kit_traceback, collected_ids

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PATHS = ("manual_loop", "rnn_wrapper", "fused_layer")
DTYPES = ("float32", "float64", "float16", "bfloat16", "mixed_float16")
DEVICES = ("cpu", "gpu")
MARKERS = ("conformance", "known_divergence", *PATHS, *DTYPES, *DEVICES, "eager", "lstm")

# A case file with no [[case]] header: the array of tables written inline.
INLINE = (
    'case = [{ id = "inline", batch = 1, timesteps = 2, features = 2, units = 2, paths = ["rnn_wrapper"] }]'
)
SIZES = "batch = 1\ntimesteps = 2\nfeatures = 2\nunits = 2\n"


def case(case_id: str, body: str = "") -> str:
    """A tiny valid [[case]] with extra TOML lines appended."""
    return f'[[case]]\nid = "{case_id}"\n{SIZES}{textwrap.dedent(body)}\n'


def _fmt(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def expected_ids(path: Path, devices: tuple[str, ...] = DEVICES) -> set[str]:
    """Item names a case file should produce, by the documented rule, from its TOML alone."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    names = {f"{raw['id']}[contract]" for raw in data.get("contract", [])}  # API contracts: one item each
    for raw in data.get("case", []):
        merged = {**defaults, **raw}
        matrix = {**defaults.get("matrix", {}), **raw.get("matrix", {})}
        keys = list(matrix)
        for combo in itertools.product(*(matrix[k] for k in keys)) if keys else [()]:
            variant = "-".join(f"{k}={_fmt(v)}" for k, v in zip(keys, combo))
            for p, context, mode, d, dev in itertools.product(
                merged.get("paths", PATHS),
                merged.get("contexts", ["call"]),
                merged.get("modes", ["eager"]),
                merged.get("dtypes", ["float32"]),
                merged.get("devices", DEVICES),
            ):
                if dev in devices:
                    params = "-".join(x for x in (variant, p, context, mode, d, dev) if x)
                    names.add(f"{raw['id']}[{params}]")
    return names


def names_of(ids: list[str]) -> list[str]:
    """``file::name`` → ``name``."""
    return [i.split("::", 1)[1] for i in ids]


def test_item_ids_follow_the_naming_rule(pytester: pytest.Pytester) -> None:
    """Plain cases and matrix variants get ``{id}[{variant-}{path}-{mode}-{dtype}-{device}]``, only."""
    pytester.makefile(
        ".toml",
        ids=case("plain", 'paths = ["fused_layer"]\ndtypes = ["float64"]\n')
        + case(
            "grid",
            """
            paths = ["manual_loop", "rnn_wrapper"]
            devices = ["cpu"]
            [case.matrix]
            batch = [1, 2]
            return_sequences = [true, false]
            activation = ["relu"]
            """,
        ),
    )
    result = pytester.runpytest("--co", "-q")
    result.assert_outcomes()
    assert result.ret == 0
    ids = collected_ids(result.outlines)
    assert all(i.startswith("ids.toml::") for i in ids)
    grid = [
        f"grid[batch={b}-return_sequences={rs}-activation=relu-{p}-call-eager-float32-cpu]"
        for b in (1, 2)
        for rs in ("true", "false")
        for p in ("manual_loop", "rnn_wrapper")
    ]
    expected = [
        "plain[fused_layer-call-eager-float64-cpu]",
        "plain[fused_layer-call-eager-float64-gpu]",
        *grid,
    ]
    assert sorted(names_of(ids)) == sorted(expected)
    assert len(ids) == len(set(ids)) == 10


def test_shipped_cases_collect_without_tensorflow(pytester: pytest.Pytester, kit_env: None) -> None:
    """``--co`` on the shipped cases/ lists every item and never imports TensorFlow (header included)."""
    shutil.copytree(CASES, pytester.path / "cases")
    pytester.makepyfile(
        tf_probe="""
        import sys

        def pytest_collection_finish(session):
            with open("tf_probe.txt", "w") as f:
                f.write(repr(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))))
        """
    )
    result = pytester.runpytest_subprocess("--co", "-q", "-p", "tf_probe", "cases")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    assert (pytester.path / "tf_probe.txt").read_text() == "[]"
    ids = collected_ids(result.outlines)
    expected: set[str] = set()
    for toml in sorted((pytester.path / "cases").glob("*.toml")):
        expected |= {f"cases/{toml.name}::{n}" for n in expected_ids(toml)}
    assert len(expected) > 100  # the shipped library, not an empty folder
    assert set(ids) == expected
    assert len(ids) == len(expected)
    result.stdout.fnmatch_lines([f"{len(expected)} tests collected*"])


def test_other_toml_files_are_not_collected(pytester: pytest.Pytester) -> None:
    """A pyproject.toml or any .toml without [[case]]/[defaults] is not a case file."""
    pytester.makepyprojecttoml('[project]\nname = "x"\n\n[tool.other]\ncase = 1\ndefaults = 2\n')
    pytester.makefile(".toml", settings='[tool]\nname = "not a case file"\n[[tool.case]]\nid = "no"\n')
    pytester.makefile(".toml", real=case("real"))
    result = pytester.runpytest("--co", "-q")
    assert result.ret == 0
    ids = collected_ids(result.outlines)
    assert len(ids) == 6
    assert all(i.startswith("real.toml::real[") for i in ids)
    assert "pyproject" not in result.stdout.str()
    assert "settings.toml" not in result.stdout.str()


def test_defaults_only_header_is_a_case_file(pytester: pytest.Pytester) -> None:
    """A file with [defaults] is claimed by the kit, so a file with no [[case]] is an error, not ignored."""
    pytester.makefile(".toml", lonely="[defaults]\nbatch = 1\n")
    result = pytester.runpytest("--co", "-q")
    result.stdout.fnmatch_lines(["*lonely.toml*no [[][[]case[]][]] tables*"])
    assert result.parseoutcomes().get("errors") == 1


@pytest.mark.parametrize("marker", MARKERS)
def test_every_marker_is_registered_and_selectable(pytester: pytest.Pytester, marker: str) -> None:
    """Each marker the kit puts on items is listed by ``--markers`` and selects exactly its items."""
    pytester.makefile(
        ".toml",
        all=case("every-dtype", f"dtypes = {list(DTYPES)!r}\n".replace("'", '"'))
        + case(
            "with-divergence",
            '[[case.divergence]]\ndiffers = [{ check = "agreement", what = ["output"] }]\nreason = "r"\n',
        ),
    )
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines([f"@pytest.mark.{marker}:*"])
    result = pytester.runpytest("--co", "-q", "--strict-markers", "-m", marker)
    assert result.ret == 0, result.stdout.str()
    names = names_of(collected_ids(result.outlines))
    every = [f"every-dtype[{p}-call-eager-{d}-{dev}]" for p in PATHS for d in DTYPES for dev in DEVICES]
    every += [f"with-divergence[{p}-call-eager-float32-{dev}]" for p in PATHS for dev in DEVICES]

    def has(name: str) -> bool:
        if marker in ("conformance", "lstm"):
            return True
        if marker == "known_divergence":
            return name.startswith("with-divergence")
        return marker in name.partition("[")[2].rstrip("]").split("-")

    assert sorted(names) == sorted(n for n in every if has(n))


def test_marker_expression_selects_the_right_count(pytester: pytest.Pytester) -> None:
    """``-m "fused_layer and float32"`` under --strict-markers picks exactly those items."""
    pytester.makefile(".toml", m=case("m", 'dtypes = ["float32", "float64"]\n'))
    result = pytester.runpytest("--co", "-q", "--strict-markers", "-m", "fused_layer and float32")
    assert result.ret == 0
    assert sorted(names_of(collected_ids(result.outlines))) == [
        "m[fused_layer-call-eager-float32-cpu]",
        "m[fused_layer-call-eager-float32-gpu]",
    ]
    result.stdout.fnmatch_lines(["2/12 tests collected (10 deselected)*"])
    result = pytester.runpytest("--co", "-q", "-m", "not gpu and (manual_loop or rnn_wrapper)")
    assert len(collected_ids(result.outlines)) == 4


def test_strict_markers_passes_on_a_real_run(pytester: pytest.Pytester) -> None:
    """Running (not only collecting) with --strict-markers raises no unknown-marker error."""
    pytester.makefile(".toml", m=case("m", 'paths = ["manual_loop"]\n'))
    result = pytester.runpytest("--co", "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    assert result.ret == 0
    assert "PytestUnknownMarkWarning" not in result.stdout.str()


def test_conformance_cases_option_adds_a_folder(pytester: pytest.Pytester) -> None:
    """``--conformance-cases DIR`` (absolute) collects the folder, headerless .toml files included."""
    extra = pytester.mkdir("elsewhere")
    (extra / "headed.toml").write_text(case("headed"))
    (extra / "inline.toml").write_text(INLINE)
    pytester.makefile(".toml", local=case("local", 'paths = ["manual_loop"]\ndevices = ["cpu"]\n'))
    result = pytester.runpytest("--co", "-q", "--conformance-cases", str(extra), "local.toml")
    assert result.ret == 0, result.stdout.str()
    names = names_of(collected_ids(result.outlines))
    assert sorted(names) == sorted(
        [
            "local[manual_loop-call-eager-float32-cpu]",
            "inline[rnn_wrapper-call-eager-float32-cpu]",
            "inline[rnn_wrapper-call-eager-float32-gpu]",
        ]
        + [f"headed[{p}-call-eager-float32-{d}]" for p in PATHS for d in DEVICES]
    )


@pytest.mark.parametrize("given", ["elsewhere", "elsewhere/inline.toml", "./elsewhere/"])
def test_conformance_cases_relative_path_includes_headerless_files(
    pytester: pytest.Pytester, given: str
) -> None:
    """``--conformance-cases`` given relative (folder or file) behaves as the same path given absolute.

    Regression: a relative path was compared, as typed, with absolute collected paths, so .toml files
    without a [[case]]/[defaults] header under it were silently left out.
    """
    extra = pytester.mkdir("elsewhere")
    (extra / "inline.toml").write_text(INLINE)
    result = pytester.runpytest("--co", "-q", "--conformance-cases", given)
    assert sorted(names_of(collected_ids(result.outlines))) == [
        "inline[rnn_wrapper-call-eager-float32-cpu]",
        "inline[rnn_wrapper-call-eager-float32-gpu]",
    ]


def test_conformance_cases_ini(pytester: pytest.Pytester) -> None:
    """ini ``conformance_cases`` adds folders (relative to the ini file), headerless files included."""
    extra = pytester.mkdir("suite")
    (extra / "inline.toml").write_text(
        'case = [{ id = "inline", batch = 1, timesteps = 2, features = 2, units = 2, devices = ["cpu"] }]\n'
    )
    pytester.makeini("[pytest]\nconformance_cases = suite\n")
    sub = pytester.mkdir("sub")  # run from elsewhere: the ini path must not depend on the working directory
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        result = pytester.runpytest(
            "--co", "-q", "--rootdir", str(pytester.path), "-c", str(pytester.path / "tox.ini")
        )
    assert result.ret == 0, result.stdout.str()
    assert sorted(names_of(collected_ids(result.outlines))) == [
        f"inline[{p}-call-eager-float32-cpu]" for p in sorted(PATHS)
    ]


def test_conformance_cases_missing_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--co", "--conformance-cases", "no/such/folder")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no/such/folder*does not exist*"])


@pytest.mark.parametrize(
    ("flag", "devices"),
    [("cpu", ("cpu",)), ("gpu", ("gpu",)), ("auto", DEVICES), ("cpu,gpu", DEVICES), (" gpu , cpu ", DEVICES)],
)
def test_conformance_devices_filters_items(
    pytester: pytest.Pytester, flag: str, devices: tuple[str, ...]
) -> None:
    """``--conformance-devices`` keeps only items of the named devices (auto: all)."""
    toml = pytester.makefile(".toml", d=case("d", 'dtypes = ["float32", "float16"]\n'))
    result = pytester.runpytest("--co", "-q", f"--conformance-devices={flag}")
    assert result.ret == 0
    names = names_of(collected_ids(result.outlines))
    assert sorted(names) == sorted(expected_ids(toml, devices))
    assert {n.rstrip("]").rsplit("-", 1)[1] for n in names} == set(devices)


def test_conformance_devices_ini_and_override(pytester: pytest.Pytester) -> None:
    """ini ``conformance_devices`` sets the default; the command line wins over it."""
    pytester.makeini("[pytest]\nconformance_devices = cpu\n")
    pytester.makefile(".toml", d=case("d"))
    result = pytester.runpytest("--co", "-q")
    assert {n.rsplit("-", 1)[1] for n in names_of(collected_ids(result.outlines))} == {"cpu]"}
    result = pytester.runpytest("--co", "-q", "--conformance-devices=gpu")
    assert {n.rsplit("-", 1)[1] for n in names_of(collected_ids(result.outlines))} == {"gpu]"}


@pytest.mark.parametrize("flag", ["tpu", "cpu,tpu", "CPU", ","])
def test_bad_device_is_a_usage_error(pytester: pytest.Pytester, flag: str) -> None:
    """An unknown device stops the run before collection, naming the option and the choices."""
    pytester.makefile(".toml", d=case("d"))
    result = pytester.runpytest("--co", f"--conformance-devices={flag}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    what = "no device given" if flag == "," else "unknown device"
    result.stderr.fnmatch_lines([f"*--conformance-devices*{what}*choose from cpu, gpu, auto*"])
    bad = flag.replace(",", "").replace("cpu", "")
    if bad:
        assert repr(bad) in result.stderr.str()
    assert_no_kit_traceback(result.stderr.str())


def test_duplicate_ids_across_files_name_both_files(pytester: pytest.Pytester) -> None:
    """The same case id in two files: a collection error naming both files; other ids still collect."""
    pytester.makefile(
        ".toml", a_first=case("twin") + case("only-a", 'devices = ["cpu"]\npaths = ["manual_loop"]')
    )
    pytester.makefile(".toml", b_second="# a comment line\n" + case("twin"))
    result = pytester.runpytest("--co", "-q")
    out = result.stdout.str()
    assert result.parseoutcomes().get("errors") == 1
    result.stdout.fnmatch_lines(["*b_second.toml:3: case 'twin': key 'id':*a_first.toml*"])
    assert "only-a[manual_loop-call-eager-float32-cpu]" in out
    assert_no_kit_traceback(out)


def test_duplicate_ids_within_a_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", twice=case("same") + case("same"))
    result = pytester.runpytest("--co", "-q")
    assert result.parseoutcomes().get("errors") == 1
    result.stdout.fnmatch_lines(["*twice.toml:*case 'same'*key 'id'*duplicate*"])
