"""The plugin's options: command line and ini, one named group, plain serialisable values (xdist)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.registry import DEVICES
from conformance.verdict.judge import JudgeOptions

DEVICE_CHOICES = (*DEVICES, "auto")


def shipped_cases() -> Path:
    """The kit's own case files: conformance/cases in an installed wheel, cases/ beside it in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for folder in (package / "cases", package.parent / "cases"):
        if folder.is_dir():
            return folder
    raise pytest.UsageError(f"--conformance-shipped: no shipped cases found beside {package}")


@dataclass(frozen=True)
class Option:
    """One ``--conformance-<name>`` option (dest ``conformance_<name>``), and its ini key where people keep
    it in config (``ini_type``: pytest's ini type, None for no ini key)."""

    name: str
    help: str
    default: Any = None
    action: str | None = None
    type: Any = None
    metavar: str | None = None
    ini_type: str | None = None
    ini_default: Any = None

    @property
    def dest(self) -> str:
        return "conformance_" + self.name.replace("-", "_")

    def add(self, group: Any, parser: pytest.Parser) -> None:
        kwargs = {"action": self.action, "type": self.type, "metavar": self.metavar}
        group.addoption(
            f"--conformance-{self.name}",
            dest=self.dest,
            default=self.default,
            help=self.help,
            **{k: v for k, v in kwargs.items() if v is not None},
        )
        if self.ini_type is not None:
            ini_help = f"default for --conformance-{self.name}"
            if self.ini_type == "paths":
                ini_help = "case files or folders collected in addition to the command-line arguments"
            ini_type = None if self.ini_type == "string" else self.ini_type  # pytest 7: untyped is a string
            parser.addini(self.dest, type=ini_type, default=self.ini_default, help=ini_help)  # type: ignore[arg-type]


OPTIONS: tuple[Option, ...] = (
    Option(
        "cases",
        "extra case file or folder to collect (repeatable)",
        default=[],
        action="append",
        metavar="PATH",
        ini_type="paths",
        ini_default=[],
    ),
    Option(
        "shipped",
        "also collect the case files shipped with the kit (installed as conformance/cases)",
        default=False,
        action="store_true",
        ini_type="bool",
        ini_default=False,
    ),
    Option(
        "devices",
        "comma-separated devices to run: cpu, gpu, auto (default: auto = cpu, and gpu when one is visible, "
        "else gpu items skip); naming gpu makes a missing GPU an error",
        metavar="LIST",
        ini_type="string",
        ini_default="auto",
    ),
    Option(
        "results",
        "write a JSON record of the run (environment fingerprint, every item's outcome, kernel, error vs "
        "tolerance, duration) to PATH; read by `python -m conformance report`",
        metavar="PATH",
    ),
    Option(
        "record",
        "store every item's outputs, final states and gradients in DIR (one .npz each); over an existing "
        "baseline, rewrite it and say what changed",
        metavar="DIR",
    ),
    Option(
        "baseline",
        "compare every item with its entry in DIR (made by --conformance-record): drift beyond tolerance, a "
        "missing entry or a changed case fails the item",
        metavar="DIR",
    ),
    Option(
        "deterministic",
        "call tf.config.experimental.enable_op_determinism() once per process before the first item "
        "(recorded as op_determinism in the results file)",
        default=False,
        action="store_true",
    ),
    Option(
        "timeout",
        "per-item time limit; an item past it fails naming the limit (default 300, 0 = off)",
        type=float,
        metavar="SECONDS",
        ini_type="string",
        ini_default="300",
    ),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "TF recurrent-API conformance")
    for option in OPTIONS:
        option.add(group, parser)


@dataclass(frozen=True)
class Settings:
    devices: tuple[str, ...]  # devices to make items for
    gpu_required: bool  # gpu named explicitly: a missing GPU fails rather than skips
    extra_paths: tuple[Path, ...]
    results: Path | None = None
    deterministic: bool = False  # enable TF op determinism before the first item
    timeout: float = 300.0  # per-item time limit in seconds, 0 = none (conformance.verdict.isolation)
    record: Path | None = None
    baseline: Path | None = None

    @property
    def judge_options(self) -> JudgeOptions:
        return JudgeOptions(
            gpu_required=self.gpu_required, record_dir=self.record, baseline_dir=self.baseline
        )

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
