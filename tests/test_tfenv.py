"""Which Keras ``tf.keras`` is: the flavour decides which divergences apply, so a wrong answer turns every
declared Keras 2 difference into a failure (Keras 3.0's tf.keras has no ``__version__``; TF 2.16 + Keras 3.0
was read as Keras 2 until this was found running the tf2.16 env)."""

from __future__ import annotations

import types
from importlib import metadata

import pytest

from conformance.run import tfenv


def _module(name: str, version: str | None = None) -> types.ModuleType:
    module = types.ModuleType(name)
    if version is not None:
        module.__version__ = version  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    ("name", "version", "tf_version", "want"),
    [
        ("keras.api._v2.keras", "2.15.0", "2.15.1", ("keras2", "2.15.0")),  # TF <= 2.15's own Keras 2
        ("keras._tf_keras.keras", "3.13.2", "2.21.0", ("keras3", "3.13.2")),
        ("tf_keras.api._v2.keras", "2.21.0", "2.21.0", ("tf_keras", "2.21.0")),
        ("keras.api._v2.keras", None, "2.12.1", None),  # no __version__: the keras distribution's
    ],
)
def test_identify_reads_the_module_and_its_version(
    name: str, version: str | None, tf_version: str, want: tuple[str, str] | None
) -> None:
    got = tfenv.identify(_module(name, version), tf_version)
    if want is None:
        installed = metadata.version("keras")
        want = ("keras3" if installed.startswith("3") else "keras2", installed)
    assert got == want


def test_keras_3_without_a_version_attribute_is_keras_3() -> None:
    """Keras 3.0.5 under TF 2.16: ``keras._tf_keras.keras`` has no ``__version__``; TF's version is not it."""
    installed = metadata.version("keras")
    got = tfenv.identify(_module("keras._tf_keras.keras"), "2.16.2")
    assert got[1] == installed, "the version must come from the keras distribution, not from TF"
    assert got[0] == ("keras3" if installed.startswith("3") else "keras2")


def test_an_unknown_module_falls_back_to_tensorflows_version() -> None:
    assert tfenv.identify(_module("nowhere.keras"), "2.14.1") == ("keras2", "2.14.1")
