"""Items do not affect each other: global state restored and leaks reported, time limits, crash isolation.

Each scenario installs a misbehaving Keras through a conftest in a pytester directory and runs the plugin
in a subprocess (TensorFlow and the patches stay out of this process). The misbehaviour is tied to ONE
case id: the conftest records the running item's name, and the patched Keras code checks it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_no_kit_traceback

pytestmark = pytest.mark.requires_tf


def case(
    case_id: str, units: int = 4, paths: tuple[str, ...] = ("manual_loop", "rnn_wrapper", "fused_layer")
) -> str:
    return (
        f'[[case]]\nid = "{case_id}"\nbatch = 2\ntimesteps = 3\nfeatures = 2\nunits = {units}\n'
        f'dtypes = ["float32"]\ndevices = ["cpu"]\npaths = {json.dumps(list(paths))}\n'
    )


# Every conftest knows which item runs (CURRENT), and logs the dtype policy and floatx each item finds when
# it starts — what a layer built without an explicit dtype would take.
PRELUDE = """
import os
import tensorflow as tf
K = tf.keras
CURRENT = [""]
LOG = os.path.join(os.path.dirname(__file__), "seen.log")

def pytest_runtest_call(item):
    CURRENT[0] = item.name
    with open(LOG, "a") as f:
        f.write(f"{item.name} {K.mixed_precision.global_policy().name} {K.backend.floatx()}\\n")
"""

LEAK = """
orig = K.layers.LSTM.__init__
def __init__(self, units, *args, **kwargs):  # the leaker's LSTM sets the global policy and leaves it set
    if CURRENT[0].startswith("leaker["):
        K.mixed_precision.set_global_policy("mixed_float16")
    orig(self, units, *args, **kwargs)
K.layers.LSTM.__init__ = __init__
"""


def conftest(body: str) -> str:
    return PRELUDE + textwrap.dedent(body)


def results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def seen(pytester: pytest.Pytester) -> dict[str, str]:
    """item name -> 'policy floatx' it found when it started."""
    lines = (pytester.path / "seen.log").read_text().splitlines()
    return {name: rest for name, rest in (line.split(" ", 1) for line in lines)}


def assert_leak_reported_and_contained(pytester: pytest.Pytester, result: pytest.RunResult) -> None:
    out = result.stdout.str()
    assert_no_kit_traceback(out)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1 and outcomes.get("passed") == 3, out
    result.stdout.fnmatch_lines(
        [
            "*leaker*fused_layer-call-eager-float32-cpu*",
            "*[[]isolation[]] the item changed process-wide Keras/TF state and did not put it back*",
            "*dtype policy (keras.mixed_precision.global_policy()): 'float32' -> 'mixed_float16'*",
            "*restored for the next item*",
        ]
    )
    # The victim's items started from the default policy and passed with float32 outputs.
    found = seen(pytester)
    victims = {name: state for name, state in found.items() if name.startswith("victim[")}
    assert len(victims) == 3 and set(victims.values()) == {"float32 float32"}, found
    data = results(pytester.path / "r.json")
    items = {i["case"]: i for i in data["items"] if i["case"] == "leaker"}
    assert items["leaker"]["outcome"] == "failed" and items["leaker"]["leaked"], items
    for item in data["items"]:
        if item["case"] == "victim":
            assert item["outcome"] == "passed" and item["checks"]["dtype"] == "passed", item


@pytest.mark.parametrize("leaker_first", [True, False], ids=["leak-then-victim", "victim-then-leak"])
def test_global_state_leak_is_restored_and_reported(pytester: pytest.Pytester, leaker_first: bool) -> None:
    """A conftest-patched LSTM sets the global policy: that item fails, the float32 case is unaffected."""
    pytester.makeconftest(conftest(LEAK))
    first, second = ("a", "b") if leaker_first else ("b", "a")
    pytester.makefile(".toml", **{f"{first}_leak": case("leaker", paths=("fused_layer",))})
    pytester.makefile(".toml", **{f"{second}_victim": case("victim")})
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider", "--conformance-results", "r.json"
    )
    assert_leak_reported_and_contained(pytester, result)
    order = list(seen(pytester))
    assert (order[0].startswith("leaker[")) == leaker_first, order


def test_global_state_leak_under_xdist(pytester: pytest.Pytester) -> None:
    """-n 2: the leaker and the victim share one worker (one file, --dist loadfile), leaker first."""
    pytest.importorskip("xdist")
    pytester.makeconftest(conftest(LEAK))
    pytester.makefile(".toml", both=case("leaker", paths=("fused_layer",)) + "\n" + case("victim"))
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider", "--conformance-results", "r.json"
    )
    assert_leak_reported_and_contained(pytester, result)


def test_every_global_is_snapshotted_and_restored(tf: Any) -> None:
    """Change each global the kit snapshots; restore names every change and puts every value back."""
    from conformance.run import tfenv
    from conformance.verdict import isolation

    env = tfenv.load()
    before = isolation.snapshot(env)
    assert list(before) == [g.name for g in isolation.GLOBALS], before
    was = list(before.values())
    keras = env.keras
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        keras.backend.set_floatx("float64")
        keras.backend.set_epsilon(1e-3)
        tf.config.experimental.enable_tensor_float_32_execution(not was[3])
        tf.config.run_functions_eagerly(not was[4])
        tf.config.set_soft_device_placement(not was[5])
        assert not was[6], "op determinism is on in the kit's own test process"
        tf.config.experimental.enable_op_determinism()
    finally:
        changes = isolation.restore(env, before)
    assert [c.split(": ")[0] for c in changes] == list(before), changes
    assert {k: str(v) for k, v in isolation.snapshot(env).items()} == {k: str(v) for k, v in before.items()}
    assert isolation.restore(env, before) == []


def hang_conftest(how: str) -> str:
    """Patch LSTMCell.call to hang for the 'stuck' case: interruptibly, or where SIGALRM cannot reach."""
    return conftest(
        f"""
        import signal, time
        orig = K.layers.LSTMCell.call
        def call(self, *args, **kwargs):
            if CURRENT[0].startswith("stuck["):
                if {how == "uninterruptible"}:  # as in a C++ op: the SIGALRM exception never gets to run
                    signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGALRM}})
                time.sleep(120)
            return orig(self, *args, **kwargs)
        K.layers.LSTMCell.call = call
        """
    )


def test_time_limit_turns_a_hang_into_a_failure(pytester: pytest.Pytester) -> None:
    """--conformance-timeout 2: the stuck item fails naming itself and the limit; the others pass."""
    pytester.makeconftest(hang_conftest("interruptible"))
    pytester.makefile(".toml", a=case("stuck", paths=("manual_loop",)), b=case("fine"))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--conformance-timeout", "2", "--conformance-results", "r.json", timeout=180
    )
    out = result.stdout.str()
    assert_no_kit_traceback(out)
    assert result.parseoutcomes().get("failed") == 1 and result.parseoutcomes().get("passed") == 3, out
    result.stdout.fnmatch_lines(
        [
            "conformance: item time limit 2 s (hard stop after 7 s); op determinism off",
            "*[[]timeout[]] item a.toml::stuck[[]manual_loop-call-eager-float32-cpu[]] exceeded its "
            "time limit "
            "of 2 s"
            " (--conformance-timeout / ini conformance_timeout; 0 turns it off); interrupted at *",
        ]
    )
    data = results(pytester.path / "r.json")
    assert data["status"] == "complete", data
    stuck = [i for i in data["items"] if i["case"] == "stuck"]
    assert len(stuck) == 1 and stuck[0]["outcome"] == "failed" and "time limit of 2 s" in stuck[0]["reason"]


def test_time_limit_from_ini_and_zero_turns_it_off(pytester: pytest.Pytester) -> None:
    """The ini key sets the limit; 0 switches it off; a negative limit is a usage error."""
    pytester.makeini("[pytest]\nconformance_timeout = 0\n")
    pytester.makefile(".toml", a=case("fine", paths=("manual_loop",)))
    result = pytester.runpytest("--co")
    result.stdout.fnmatch_lines(["conformance: item time limit off; op determinism off"])
    result = pytester.runpytest("--co", "--conformance-timeout", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--conformance-timeout / ini conformance_timeout: seconds >= 0 (0 = off)*"])


def test_hang_the_signal_cannot_reach_ends_the_process(pytester: pytest.Pytester) -> None:
    """Without xdist: faulthandler dumps the stacks and ends the run; the results file says 'running'."""
    pytester.makeconftest(hang_conftest("uninterruptible"))
    pytester.makefile(
        ".toml", a=case("fine", paths=("manual_loop",)), b=case("stuck", paths=("manual_loop",))
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--conformance-timeout", "2", "--conformance-results", "r.json", timeout=180
    )
    assert result.ret == 1, result.stdout.str()
    result.stderr.fnmatch_lines(["Timeout (0:00:07)!*", "*File *conftest.py*in call*"])
    data = results(pytester.path / "r.json")
    assert data["status"] == "running", data  # what the report shows as an error column


CRASH = """
orig = K.layers.LSTMCell.call
def call(self, *args, **kwargs):  # the 'crasher' case takes the process down inside the cell
    if CURRENT[0].startswith("crasher["):
        os._exit(1)
    return orig(self, *args, **kwargs)
K.layers.LSTMCell.call = call
"""


def test_crash_in_one_item_under_xdist(pytester: pytest.Pytester) -> None:
    """-n 2: the crashing item is reported, every other item runs, and the results file is complete."""
    pytest.importorskip("xdist")
    pytester.makeconftest(conftest(CRASH))
    pytester.makefile(".toml", a=case("crasher", paths=("manual_loop",)), b=case("fine"), c=case("also-fine"))
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--conformance-results", "r.json", timeout=240
    )
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1 and outcomes.get("passed") == 6, out
    result.stdout.fnmatch_lines(
        ["*worker 'gw*' crashed while running 'a.toml::crasher[[]manual_loop-call-eager-float32-cpu[]]'*"]
    )
    data = results(pytester.path / "r.json")
    assert data["status"] == "complete", data
    done = {(i["case"], i["path"]): i["outcome"] for i in data["items"]}
    expected = {
        (c, p): "passed" for c in ("fine", "also-fine") for p in ("manual_loop", "rnn_wrapper", "fused_layer")
    }
    assert {k: v for k, v in done.items() if k[0] != "crasher"} == expected, done
    # The crashed item made no record, yet it is in the file, as a failure saying why.
    (crashed,) = [i for i in data["items"] if i["case"] == "crasher"]
    assert (crashed["path"], crashed["dtype"], crashed["device"], crashed["outcome"]) == (
        "manual_loop",
        "float32",
        "cpu",
        "error",
    ), crashed
    assert "crashed" in crashed["reason"], crashed
