"""The plugin's options: command line and ini, one named group, plain serialisable values (xdist)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.schema import DEVICES

DEVICE_CHOICES = (*DEVICES, "auto")


def shipped_cases() -> Path:
    """The kit's own case files: conformance/cases in an installed wheel, cases/ beside it in a checkout."""
    package = Path(__file__).resolve().parent
    for folder in (package / "cases", package.parent / "cases"):
        if folder.is_dir():
            return folder
    raise pytest.UsageError(f"--conformance-shipped: no shipped cases found beside {package}")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "TF recurrent-API conformance")
    group.addoption(
        "--conformance-cases",
        action="append",
        default=[],
        dest="conformance_cases",
        metavar="PATH",
        help="extra case file or folder to collect (repeatable)",
    )
    group.addoption(
        "--conformance-shipped",
        action="store_true",
        default=False,
        dest="conformance_shipped",
        help="also collect the case files shipped with the kit (installed as conformance/cases)",
    )
    group.addoption(
        "--conformance-devices",
        default=None,
        dest="conformance_devices",
        metavar="LIST",
        help="comma-separated devices to run: cpu, gpu, auto (default: auto = cpu, and gpu "
        "when one is visible, else gpu items skip); naming gpu makes a missing GPU an error",
    )
    group.addoption(
        "--conformance-results",
        default=None,
        dest="conformance_results",
        metavar="PATH",
        help="write a JSON record of the run (environment fingerprint, every item's outcome, kernel, "
        "error vs tolerance, duration) to PATH; read by `python -m conformance report`",
    )
    group.addoption(
        "--conformance-record",
        default=None,
        dest="conformance_record",
        metavar="DIR",
        help="store every item's outputs, final states and gradients in DIR (one .npz each); over an "
        "existing baseline, rewrite it and say what changed",
    )
    group.addoption(
        "--conformance-baseline",
        default=None,
        dest="conformance_baseline",
        metavar="DIR",
        help="compare every item with its entry in DIR (made by --conformance-record): drift beyond "
        "tolerance, a missing entry or a changed case fails the item",
    )
    group.addoption(
        "--conformance-deterministic",
        action="store_true",
        default=False,
        dest="conformance_deterministic",
        help="call tf.config.experimental.enable_op_determinism() once per process before the first item "
        "(recorded as op_determinism in the results file)",
    )
    group.addoption(
        "--conformance-timeout",
        default=None,
        type=float,
        dest="conformance_timeout",
        metavar="SECONDS",
        help="per-item time limit; an item past it fails naming the limit (default 300, 0 = off)",
    )
    parser.addini("conformance_timeout", default="300", help="default for --conformance-timeout")
    parser.addini(
        "conformance_cases",
        type="paths",
        default=[],
        help="case files or folders collected in addition to the command-line arguments",
    )
    parser.addini("conformance_shipped", type="bool", default=False, help="default for --conformance-shipped")
    parser.addini("conformance_devices", default="auto", help="default for --conformance-devices")


@dataclass(frozen=True)
class Settings:
    devices: tuple[str, ...]  # devices to make items for
    gpu_required: bool  # gpu named explicitly: a missing GPU fails rather than skips
    extra_paths: tuple[Path, ...]
    results: Path | None = None
    deterministic: bool = False  # enable TF op determinism before the first item (conformance.isolation)
    timeout: float = 300.0  # per-item time limit in seconds, 0 = none (conformance.isolation)
    record: Path | None = None
    baseline: Path | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        raw = config.getoption("conformance_devices") or config.getini("conformance_devices")
        names = [n.strip() for n in str(raw).split(",") if n.strip()]
        unknown = [n for n in names if n not in DEVICE_CHOICES]
        if unknown or not names:
            what = f"unknown device(s) {', '.join(map(repr, unknown))}" if unknown else "no device given"
            raise pytest.UsageError(
                f"--conformance-devices / ini conformance_devices: {what}; "
                f"choose from {', '.join(DEVICE_CHOICES)} (comma-separated)"
            )
        devices = tuple(d for d in DEVICES if d in names or "auto" in names)
        # Resolved: collection compares them with the absolute paths pytest hands to pytest_collect_file.
        given = [Path(p) for p in config.getoption("conformance_cases")]
        given += list(config.getini("conformance_cases"))
        extra = [p if p.is_absolute() else (config.invocation_params.dir / p).resolve() for p in given]
        if config.getoption("conformance_shipped") or config.getini("conformance_shipped"):
            extra.append(shipped_cases())
        for p in extra:
            if not p.exists():
                raise pytest.UsageError(f"--conformance-cases / conformance_cases: {p} does not exist")
        record, base = config.getoption("conformance_record"), config.getoption("conformance_baseline")
        if record and base:
            raise pytest.UsageError(
                "--conformance-record and --conformance-baseline are exclusive: compare with a baseline, "
                "or (re)write one (which reports what changed)"
            )
        if base and not Path(base).is_dir():
            raise pytest.UsageError(f"--conformance-baseline: {base} is not a folder (record one first)")
        results = config.getoption("conformance_results")
        timeout = config.getoption("conformance_timeout")
        try:
            timeout = float(config.getini("conformance_timeout") if timeout is None else timeout)
        except ValueError:
            raise pytest.UsageError("ini conformance_timeout: not a number of seconds") from None
        if not timeout >= 0:
            raise pytest.UsageError("--conformance-timeout / ini conformance_timeout: seconds >= 0 (0 = off)")
        return cls(
            devices=devices,
            gpu_required="gpu" in names,
            extra_paths=tuple(extra),
            results=Path(results) if results else None,
            deterministic=bool(config.getoption("conformance_deterministic")),
            timeout=timeout,
            record=Path(record) if record else None,
            baseline=Path(base) if base else None,
        )
