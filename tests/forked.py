"""Run pytest in a fresh child process without paying for TensorFlow's import each time.

A fault-injection test needs a process of its own (a Keras broken on purpose must never leak into another
test), not an import of its own: ``import tensorflow`` takes about 3 s of the 5-8 s such a run costs, and
the kit's tests make about a hundred of them on each Keras. multiprocessing's forkserver (stdlib) imports
TensorFlow and Keras once, before TensorFlow's runtime starts (no session, no thread pool, nothing a fork
could cut in half), and forks one child per run. The child runs ``pytest.main`` as ``python -m pytest``
would: the same working directory, environment and ``sys.path`` (that of a fresh interpreter, with
``PYTHONPATH`` in front), stdin closed, stdout and stderr to files.

What a fresh interpreter gives and a fork does not: a different TensorFlow import. So a run whose
import-time environment (``TF_*``, ``KERAS_*``, ``CUDA_*``) differs from the server's, or a test about
imports themselves (what collection imports), uses ``pytester.runpytest_subprocess``; so does every run
when ``CONFORMANCE_TESTS_SUBPROCESS=1`` (the way to tell whether a failure is the fork's).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

#: What TensorFlow and Keras read when they are imported: a run that changes it needs an import of its own.
IMPORT_TIME_ENV = ("TF_", "KERAS_", "CUDA_", "PYTHON")


def _import_time_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(IMPORT_TIME_ENV) and k != "PYTHONPATH"}


@cache
def _server() -> tuple[Any, dict[str, str]]:
    """multiprocessing's forkserver with TensorFlow, its Keras and this module preloaded, and the env it
    started with."""
    try:  # which Keras tf.keras is (keras, tf_keras): importing it here is how to find out
        import tensorflow as tf

        tf.keras.layers  # noqa: B018 - tf.keras is lazy
    except Exception:  # no TensorFlow: each child imports (and reports) it itself
        pass
    context = multiprocessing.get_context("forkserver")
    keras = [name for name in ("keras", "tf_keras") if name in sys.modules]  # the Keras tf.keras is, here
    context.set_forkserver_preload(["tensorflow", *keras, __name__])
    return context, _import_time_env(dict(os.environ))


@cache
def _fresh_sys_path() -> tuple[str, ...]:
    """``sys.path`` of ``python -m pytest`` started from nowhere in particular, without PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    return tuple(json.loads(out.stdout))


def _child(cwd: str, args: list[str], env: dict[str, str], path: list[str], out: str, err: str) -> None:
    """In the forked child: become ``python -m pytest args`` run in ``cwd`` with ``env``."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = path
    sys.argv = [sys.executable, *args]
    for fd, name in ((1, out), (2, err)):
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    # Line-buffered: what a run printed before a crash stays in its files.
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115 - fd 1 outlives it
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    code = 3
    try:
        import pytest

        code = int(pytest.main(args))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def runpytest(pytester: pytest.Pytester, *args: str, timeout: float | None = None) -> pytest.RunResult:
    """``pytester.runpytest_subprocess(*args, timeout=timeout)``, in a child forked from the server."""
    __tracebackhide__ = True
    import pytest
    from _pytest.pathlib import make_numbered_dir  # what runpytest_subprocess uses for --basetemp
    from _pytest.timing import Instant

    env = dict(os.environ)
    if os.environ.get("CONFORMANCE_TESTS_SUBPROCESS", "").strip() == "1" or sys.platform == "win32":
        return pytester.runpytest_subprocess(*args, timeout=timeout)
    context, server_env = _server()
    if _import_time_env(env) != server_env:
        return pytester.runpytest_subprocess(*args, timeout=timeout)
    basetemp = make_numbered_dir(root=pytester.path, prefix="runpytest-", mode=0o700)
    full = [f"--basetemp={basetemp}", *map(str, args)]
    for plugin in pytester.plugins:
        full = ["-p", str(plugin), *full]
    cwd = os.getcwd()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [cwd, env.get("PYTHONPATH", "")]))
    path = [cwd, *filter(None, env["PYTHONPATH"].split(os.pathsep)), *_fresh_sys_path()]
    out, err = pytester.path / "stdout", pytester.path / "stderr"
    print("running (forked from a process with TensorFlow imported): pytest", *full)
    print("     in:", cwd)
    instant = Instant()
    child = context.Process(target=_child, args=(cwd, full, env, path, str(out), str(err)))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        raise pytester.TimeoutExpired(f"{timeout} second timeout expired running: pytest {full}")
    outlines = out.read_text(encoding="utf-8").splitlines()
    errlines = err.read_text(encoding="utf-8").splitlines()
    for name, lines in (("stdout", outlines), ("stderr", errlines)):
        if lines:
            print(f"{name}:", *lines, sep="\n")
    ret = child.exitcode if child.exitcode is not None else -1
    return pytest.RunResult(ret, outlines, errlines, instant.elapsed().seconds)
