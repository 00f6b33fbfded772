"""What a contributor adds, named once: paths, checks, modes, dtypes, devices, report formats.

Every list the kit keeps in step reads these registries: the case-file schema's enums, the pytest markers,
the docs test, the item-id parser, the runners, the report's formats. An entry names its implementation
by import path (``module:attribute``) and is imported on first use, so collection reads the names without
importing the implementation (or TensorFlow). Families and structures have their registries in
:mod:`conformance.families` (their data is needed at collection, and holds no TensorFlow).

Adding one: write the module, add one line here; ``tests/test_registries.py`` checks that every entry
loads and that the schema, markers and docs agree with it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One registered thing: its name (as written in case files, markers and ids), a line of doc, and
    where its implementation lives."""

    name: str
    doc: str
    impl: str = ""

    def load(self) -> Any:
        module, _, attribute = self.impl.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        return obj


@dataclass(frozen=True)
class CheckEntry(Entry):
    """A check. ``gate`` makes it run only where the case calls for it, and only then may a case list it:
    ``options.<attribute>`` (true in the case's options) or ``expect.<key>|expect.<key>`` (a key given in
    its expect table); ``requires`` says what that is, for the error message."""

    gate: str | None = None
    requires: str = ""
    # What its findings name, for a divergence's `differs.what`: {state} and {weight} stand for the layer's
    # state and weight names (h, c; kernel, cells[1].bias, backward.kernel, ...).
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModeEntry(Entry):
    """An execution mode: how the path's calls are made (``function``: tf.function keyword arguments,
    None for eager), and how a failure header spells it."""

    function: Mapping[str, Any] | None = None
    spelled: str = ""


@dataclass(frozen=True)
class ContextEntry(Entry):
    """Where the path's layer lives when it is called: alone (``call``), or inside a model. A model that
    takes one input cannot be given an initial state or a mask argument; one that returns one output
    cannot return states: a case asking for them in such a context is refused at collection."""

    model: bool = True
    single_input: bool = False
    single_output: bool = False


@dataclass(frozen=True)
class SaveFormatEntry(Entry):
    """A saved-model format: how a model is written, by which Keras flavours, and the loaders that read it
    back (each a ``{format}.{loader}`` subject of the round_trip and carry_over checks)."""

    loaders: tuple[str, ...] = ()
    writers: tuple[str, ...] = ("keras2", "keras3", "tf_keras")


@dataclass(frozen=True)
class FormatEntry(Entry):
    """A report format: ``--format NAME`` or ``--<flag> FILE`` (also write it there)."""

    flag: str = ""


PATHS: tuple[Entry, ...] = (
    Entry(
        "manual_loop",
        "a Python loop calling the cell step by step",
        "conformance.run.paths.manual_loop:ManualLoop",
    ),
    Entry("rnn_wrapper", "keras.layers.RNN(cell)", "conformance.run.paths.rnn_wrapper:RNNWrapper"),
    Entry(
        "fused_layer",
        "the fused layer (keras.layers.LSTM, ...)",
        "conformance.run.paths.fused_layer:FusedLayer",
    ),
)

CONTEXTS: tuple[ContextEntry, ...] = (
    ContextEntry(
        "call",
        "the layer called alone on tensors, as Keras's own tests do",
        "conformance.run.contexts.base:Context",
        model=False,
    ),
    ContextEntry(
        "functional",
        "inside keras.Model(inputs, outputs) built from keras.Input",
        "conformance.run.contexts.functional:Functional",
    ),
    ContextEntry(
        "sequential",
        "inside keras.Sequential([keras.Input(...), ..., layer])",
        "conformance.run.contexts.sequential:Sequential",
        single_input=True,
        single_output=True,
    ),
)

#: Saved-model formats (``expect.saving``): each writes the model one way and reads it back with every loader
#: the running Keras offers. Order: what a user reaches for first.
SAVE_FORMATS: tuple[SaveFormatEntry, ...] = (
    SaveFormatEntry(
        "keras",
        "model.save('model.keras'): the Keras archive (config + weights)",
        "conformance.run.saving.keras_archive:FORMAT",
        loaders=("load_model",),
    ),
    SaveFormatEntry(
        "h5",
        "model.save('model.h5'): the legacy full-model HDF5 file",
        "conformance.run.saving.h5:FORMAT",
        loaders=("load_model",),
    ),
    SaveFormatEntry(
        "weights",
        "model.save_weights('model.weights.h5'), read into a freshly built model",
        "conformance.run.saving.weights:FORMAT",
        loaders=("load_weights",),
    ),
    SaveFormatEntry(
        "checkpoint",
        "tf.train.Checkpoint(model=model).write(...): the TF checkpoint format",
        "conformance.run.saving.checkpoint:FORMAT",
        loaders=("read",),
    ),
    SaveFormatEntry(
        "json",
        "model.to_json() and the weights as arrays: model_from_json, then set_weights",
        "conformance.run.saving.json_config:FORMAT",
        loaders=("model_from_json",),
    ),
    SaveFormatEntry(
        "config",
        "model.get_config() -> keras.Model.from_config, then set_weights; every constructor argument kept",
        "conformance.run.saving.config:FORMAT",
        loaders=("from_config",),
    ),
    SaveFormatEntry(
        "saved_model",
        "tf.saved_model.save(model, dir): its serving signature, and the restored object's call",
        "conformance.run.saving.saved_model:FORMAT",
        loaders=("serving_default", "call"),
    ),
    SaveFormatEntry(
        "export",
        "model.export(dir): the inference-only SavedModel (Keras 3: TFSMLayer reads it)",
        "conformance.run.saving.export:FORMAT",
        loaders=("serve", "TFSMLayer"),
    ),
    SaveFormatEntry(
        "tflite",
        "converted to TFLite with static shapes, run by tf.lite.Interpreter; the op set recorded",
        "conformance.run.saving.tflite:FORMAT",
        loaders=("interpreter",),
    ),
    SaveFormatEntry(
        "keras_saved_model",
        "Keras 2's model.save(dir) (save_format='tf'): a SavedModel with Keras metadata",
        "conformance.run.saving.keras_saved_model:FORMAT",
        loaders=("load_model",),
        writers=("keras2", "tf_keras"),
    ),
)
SAVE_FORMAT_NAMES = tuple(e.name for e in SAVE_FORMATS)
_SAVED = tuple(f"{f.name}.{loader}" for f in SAVE_FORMATS for loader in f.loaders)

CHECKS: tuple[CheckEntry, ...] = (
    CheckEntry(
        "shape",
        "structure and shapes of what the call returned",
        "conformance.checks.shape:check",
        subjects=("returned", "output", "output.forward", "output.backward", "state.{state}", "cell_step"),
    ),
    CheckEntry(
        "dtype",
        "compute and variable dtypes",
        "conformance.checks.dtype:check",
        subjects=(
            "output",
            "output.forward",
            "output.backward",
            "state.{state}",
            "variable.{weight}",
            "get_initial_state.{state}",
        ),
    ),
    CheckEntry(
        "initial_state",
        "none = zeros, a custom state honoured, two chunks = one run",
        "conformance.checks.initial_state:check",
        subjects=(
            "get_initial_state",
            "probe",
            "none_vs_zeros.output",
            "none_vs_zeros.state.{state}",
            "custom.ignored",
            "custom.output",
            "custom.state.{state}",
            "chunks.output",
            "chunks.state.{state}",
            "own_layer.none_vs_zeros.output",
            "own_layer.none_vs_zeros.state.{state}",
            "own_layer.custom.output",
            "own_layer.custom.state.{state}",
        ),
    ),
    CheckEntry(
        "gradient",
        "BPTT gradients against the oracle's",
        "conformance.checks.gradient:check",
        subjects=("inputs", "state.{state}", "{weight}"),
    ),
    CheckEntry(
        "agreement",
        "output and final states against the oracle",
        "conformance.checks.agreement:check",
        subjects=("output", "state.{state}"),
    ),
    CheckEntry(
        "values",
        "numbers pinned in the case file",
        "conformance.checks.values:check",
        gate="expect.output|expect.states",
        requires="expect.output or expect.states",
        subjects=("output", "state.{state}", "probe"),
    ),
    CheckEntry(
        "dropout",
        "training=True reproducible from a seed, and not the inference output (equal to it where the case's "
        "weights leave dropout no effect; the same at every step where one input mask serves the sequence)",
        "conformance.checks.dropout:check",
        gate="options.dropping",
        requires="dropout or recurrent_dropout > 0",
        subjects=("raised", "finite", "reproducible", "applied", "inert", "mask_in_time", "stateless"),
    ),
    CheckEntry(
        "stateful",
        "a stateful layer carries and resets its state",
        "conformance.checks.stateful:check",
        gate="options.stateful",
        requires="stateful = true",
        subjects=(
            "raised",
            "reset.state.{state}",
            "other_batch",
            "carried.output",
            "carried.state.{state}",
            "again.output",
            "again.state.{state}",
        ),
    ),
    CheckEntry(
        "symbolic",
        "in a model: symbolic output shapes (None batch and time) = compute_output_shape = the eager shapes",
        "conformance.checks.symbolic:check",
        gate="contexts.model",
        requires="a model context (contexts = ['functional'] or ['sequential'])",
        subjects=("returned", "output", "output.forward", "output.backward", "state.{state}", "raised"),
    ),
    CheckEntry(
        "predict",
        "in a model: model.predict(x) agrees with model(x) and the oracle",
        "conformance.checks.predict:check",
        gate="contexts.model",
        requires="a model context (contexts = ['functional'] or ['sequential'])",
        subjects=("output", "state.{state}", "raised"),
    ),
    CheckEntry(
        "train_step",
        "in a model: compile(SGD) + train_on_batch and fit moves every weight by -lr x the oracle's gradient",
        "conformance.checks.train_step:check",
        gate="contexts.model",
        requires="a model context (contexts = ['functional'] or ['sequential'])",
        subjects=("train_on_batch.{weight}", "fit.{weight}", "raised"),
    ),
    CheckEntry(
        "round_trip",
        "in a model: saved and loaded again in each format, with each loader, the model computes the same "
        "(weights in place, no constructor argument lost)",
        "conformance.checks.round_trip:check",
        gate="expect.saving",
        requires="expect.saving (and a model context)",
        subjects=(*_SAVED, *(f"{s}.{{weight}}" for s in _SAVED), "config.*", "tflite.ops"),
    ),
    CheckEntry(
        "kernel",
        "the fused layer ran the kernel the case expects (no silent fallback)",
        "conformance.checks.kernel:check",
        gate="expect.kernel",
        requires="expect.kernel",
        subjects=("kernel",),
    ),
)

#: Checks a command-line option adds to every item (not listed in a case's expect.checks, but nameable in
#: a divergence's `differs`).
OPTION_CHECKS: tuple[CheckEntry, ...] = (
    CheckEntry(
        "baseline",
        "drift from a recorded baseline (--conformance-baseline)",
        "conformance.checks.baseline:check",
        subjects=("entry", "output", "state.{state}", "grad.inputs", "grad.state.{state}", "grad.{weight}"),
    ),
    CheckEntry(
        "carry_over",
        "models another release saved (--conformance-baseline, and the artifacts shipped with the kit) load "
        "here and compute what they computed there",
        "conformance.checks.carry_over:check",
        subjects=("entry", *_SAVED, *(f"{s}.{{weight}}" for s in _SAVED)),
    ),
)

#: Known alternative behaviours a divergence can say a layer follows (`instead`): each builds the
#: reference the named findings must then agree with.
ALTERNATIVES: tuple[Entry, ...] = (
    Entry(
        "mask_dropped",
        "the layer ignores the mask: the oracle run over every step, masked ones included",
        "conformance.checks.alternatives:mask_dropped",
    ),
    Entry(
        "zero_output_in_input_order",
        "with go_backwards, zero_output_for_mask zeroes the returned sequence where the mask is False in "
        "input order instead of processing order (the carried-output sequence, zeroed at those steps)",
        "conformance.checks.alternatives:zero_output_in_input_order",
    ),
)

MODES: tuple[ModeEntry, ...] = (
    ModeEntry("eager", "eager execution", spelled="eager"),
    ModeEntry("function", "inside tf.function", function={"jit_compile": False}, spelled="tf.function"),
    ModeEntry(
        "xla",
        "tf.function(jit_compile=True)",
        function={"jit_compile": True},
        spelled="tf.function(jit_compile=True)",
    ),
)

DTYPES: tuple[str, ...] = ("float32", "float64", "float16", "bfloat16", "mixed_float16")
DEVICES: tuple[str, ...] = ("cpu", "gpu")

#: Report formats of ``python -m conformance report``: name -> renderer ``(Report) -> str``.
REPORT_FORMATS: tuple[FormatEntry, ...] = (
    FormatEntry(
        "md", "Markdown (a CI job summary or PR comment)", "conformance.results.markdown:render", "markdown"
    ),
    FormatEntry(
        "html",
        "self-contained HTML, sortable, coloured by error ÷ tolerance",
        "conformance.results.html:render",
        "html",
    ),
    FormatEntry("json", "the report as JSON", "conformance.results.jsonfmt:render", "json"),
)

PATH_NAMES = tuple(e.name for e in PATHS)
CONTEXT_NAMES = tuple(e.name for e in CONTEXTS)
CHECK_NAMES = tuple(e.name for e in CHECKS)
ALTERNATIVE_NAMES = tuple(e.name for e in ALTERNATIVES)
MODE_NAMES = tuple(e.name for e in MODES)


def by_name(entries: tuple[Any, ...]) -> dict[str, Any]:
    return {e.name: e for e in entries}


@dataclass
class _Loaded:
    """Implementations by name, imported once each."""

    entries: tuple[Entry, ...]
    cache: dict[str, Any] = field(default_factory=dict)

    def __call__(self, name: str) -> Any:
        if name not in self.cache:
            self.cache[name] = by_name(self.entries)[name].load()
        return self.cache[name]


runner: Callable[[str], Any] = _Loaded(PATHS)
context: Callable[[str], Any] = _Loaded(CONTEXTS)
alternative: Callable[[str], Any] = _Loaded(ALTERNATIVES)
check: Callable[[str], Any] = _Loaded(CHECKS)
report_format: Callable[[str], Any] = _Loaded(REPORT_FORMATS)
save_format: Callable[[str], Any] = _Loaded(SAVE_FORMATS)
