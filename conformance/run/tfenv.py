"""The one place TensorFlow is imported, and what the environment under test is.

Collection and the report header never import TensorFlow: they read installed package metadata
(:func:`installed`). The first item to run calls :func:`load`, which imports TF once per process
and says which Keras ``tf.keras`` really is.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

from packaging.version import InvalidVersion, Version

from conformance.errors import KitEnvironmentError

TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly")
ENV_VARS = (
    "TF_USE_LEGACY_KERAS",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_DETERMINISTIC_OPS",
    "CUDA_VISIBLE_DEVICES",
    "TF_CPP_MIN_LOG_LEVEL",
)


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _legacy_requested() -> bool:
    return os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in ("1", "true", "yes")


def predicted_flavour(tf_version: str, tf_keras_installed: bool) -> str:
    """Which Keras ``tf.keras`` will be, from versions alone: TF <= 2.15 ships Keras 2, later Keras 3."""
    try:
        new_tf = Version(tf_version).release[:2] >= (2, 16)
    except InvalidVersion:
        new_tf = True
    if not new_tf:
        return "keras2"
    return "tf_keras" if _legacy_requested() and tf_keras_installed else "keras3"


@dataclass(frozen=True)
class Installed:
    """What package metadata says is installed; cheap, no import."""

    tf_dist: str | None
    tf_version: str | None
    keras_version: str | None
    tf_keras_version: str | None

    @property
    def flavour(self) -> str | None:
        if self.tf_version is None:
            return None
        return predicted_flavour(self.tf_version, self.tf_keras_version is not None)


def installed() -> Installed:
    for dist in TF_DISTRIBUTIONS:
        version = _dist_version(dist)
        if version:
            return Installed(dist, version, _dist_version("keras"), _dist_version("tf-keras"))
    return Installed(None, None, _dist_version("keras"), _dist_version("tf-keras"))


def header_lines() -> list[str]:
    """The pytest report header: what is under test, from metadata (TF is not imported to print it)."""
    inst = installed()
    if inst.tf_version is None:
        return [
            "conformance: TensorFlow is not installed; every item will error (install tensorflow-cpu, "
            "or run through tox)"
        ]
    keras = {
        "keras2": f"Keras 2 (tf.keras {inst.tf_version})",
        "keras3": f"Keras 3 {inst.keras_version or '?'} (as tf.keras)",
        "tf_keras": f"tf-keras {inst.tf_keras_version} (TF_USE_LEGACY_KERAS=1)",
    }[inst.flavour or "keras3"]
    env = ", ".join(f"{k}={os.environ[k]}" for k in ENV_VARS if k in os.environ) or "none set"
    return [
        f"conformance: {inst.tf_dist} {inst.tf_version}, {keras}, flavour {inst.flavour}",
        f"conformance: python {platform.python_version()}, numpy {_dist_version('numpy')}, env: {env}",
    ]


@dataclass(frozen=True)
class TFEnv:
    """The imported TensorFlow and the Keras that ``tf.keras`` resolved to."""

    tf: ModuleType
    keras: ModuleType
    tf_version: Version
    keras_version: Version
    flavour: str  # keras2 | keras3 | tf_keras
    gpus: tuple[str, ...]
    tf32: bool  # TensorFloat-32 matmuls enabled (they only happen on an Ampere-or-newer GPU)

    def describe(self) -> str:
        return f"TF {self.tf_version}, {self.flavour} {self.keras_version}"

    @functools.cached_property
    def fingerprint(self) -> dict[str, Any]:
        """What results files record about the environment: enough to tell two runs apart."""
        tf = self.tf
        build = dict(tf.sysconfig.get_build_info()) if hasattr(tf.sysconfig, "get_build_info") else {}
        gpus = []
        for name in self.gpus:
            try:
                device = next(d for d in tf.config.list_physical_devices("GPU") if d.name == name)
                details = tf.config.experimental.get_device_details(device)
            except Exception:  # details are best effort; the GPU's name is enough to tell runs apart
                details = {}
            gpus.append({"name": name, **{k: str(v) for k, v in details.items()}})
        return {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu": _cpu_model(),
            "tensorflow": str(self.tf_version),
            "tensorflow_dist": installed().tf_dist,
            "tf_build": {
                k: str(v)
                for k, v in build.items()
                if k in ("cuda_version", "cudnn_version", "is_cuda_build", "is_rocm_build", "cpu_compiler")
            },
            "keras_flavour": self.flavour,
            "keras": str(self.keras_version),
            "keras_module": getattr(self.keras, "__name__", ""),
            "numpy": _dist_version("numpy"),
            "gpus": gpus,
            "tf32": self.tf32,
            "op_determinism": op_determinism(tf),
            "env": {k: os.environ[k] for k in (*ENV_VARS, "TOX_ENV_NAME") if k in os.environ},
        }

    def facts(self) -> dict[str, Any]:
        """What a divergence condition can test."""
        return {"tf": self.tf_version, "keras": self.keras_version, "flavour": self.flavour}


def _tf_config_internal() -> Any:
    """TF's internal config module, where op determinism can be read and turned off (no public API)."""
    return sys.modules.get("tensorflow.python.framework.config")


_DETERMINISM_ENABLED = False  # set once per process by --conformance-deterministic


def enable_op_determinism(env: TFEnv) -> None:
    """Turn TF op determinism on for the rest of the process (once)."""
    global _DETERMINISM_ENABLED
    if not _DETERMINISM_ENABLED:
        env.tf.config.experimental.enable_op_determinism()
        _DETERMINISM_ENABLED = True


def op_determinism(tf: Any) -> bool:
    """Whether TF op determinism is on in this process (recorded in results files)."""
    probe = getattr(_tf_config_internal(), "is_op_determinism_enabled", None)
    if probe is not None:
        return bool(probe())
    return _DETERMINISM_ENABLED or os.environ.get("TF_DETERMINISTIC_OPS", "").lower() in ("1", "true")


def set_op_determinism(tf: Any, on: Any) -> None:
    if on:
        tf.config.experimental.enable_op_determinism()
    else:
        _tf_config_internal().disable_op_determinism()


def can_disable_op_determinism() -> bool:
    return hasattr(_tf_config_internal(), "disable_op_determinism")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _distribution_version(module: str) -> str | None:
    """The version of the package that provides ``module`` (``keras._tf_keras.keras`` -> keras): Keras
    3.0's tf.keras has no ``__version__``, and TF's version in its place would make Keras 3 look like 2."""
    package = module.split(".")[0].replace("_", "-")
    if not package:
        return None
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def identify(keras: Any, tf_version: str) -> tuple[str, str]:
    """(flavour, version) of the module ``tf.keras`` is: tf-keras, Keras 3, or the Keras 2 TF shipped."""
    module = getattr(keras, "__name__", "")
    version = getattr(keras, "__version__", None) or _distribution_version(module) or tf_version
    if module.startswith("tf_keras"):
        return "tf_keras", version
    return ("keras3" if Version(version).major >= 3 else "keras2"), version


@functools.cache
def load() -> TFEnv:
    """Import TensorFlow (once per process) and identify its Keras."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise KitEnvironmentError(
            f"TensorFlow cannot be imported ({exc}). The kit does not install it: install one "
            "(pip install 'tf-rnn-conformance[tf]' or tensorflow-cpu==2.X) "
            "or run through tox (tox -e tf2.21)."
        ) from None
    keras = tf.keras
    flavour, keras_version = identify(keras, tf.__version__)
    gpus = tuple(d.name for d in tf.config.list_physical_devices("GPU"))
    tf32 = bool(tf.config.experimental.tensor_float_32_execution_enabled())
    return TFEnv(tf, keras, Version(tf.__version__), Version(keras_version), flavour, gpus, tf32)
