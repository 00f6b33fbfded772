"""What the two model contexts share: the path's layer inside a keras.Model, called as users call one.

The model is built from ``keras.Input`` (the time dimension left ``None`` on the layer paths, so one model
takes whole sequences and chunks; the manual loop's Python loop needs it static), around the very layer
the path built and weighted, so the model's weights are the case's. Masks arrive through the graph — a
``keras.layers.Masking`` in the model, or a boolean ``keras.Input`` passed as ``mask=`` — and initial
states as inputs of their own. Besides the main call (``model(inputs)`` under the tape, in the item's
mode), a model context observes the symbolic build, ``model.predict`` and one training step
(``compile(SGD)`` then ``train_on_batch``, and ``fit`` for one step, with Keras's own default
``jit_compile``); the stateful check drives it with ``predict`` and resets it as each Keras spells it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from conformance.families.structures.base import flatten
from conformance.run.contexts.base import Context, ModelRun
from conformance.run.probes import Raised
from conformance.run.tensors import to_numpy

LEARNING_RATE = 0.1


def _dims(shape: Any) -> tuple[int | None, ...]:
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return tuple(None if d is None else int(d) for d in dims)


def _shapes(value: Any) -> list[tuple[int | None, ...]]:
    """Shapes of one or several tensors (KerasTensors)."""
    return [_dims(v.shape) for v in flatten(value)]


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def _shape_list(value: Any) -> list[tuple[int | None, ...]]:
    """compute_output_shape's answer (a shape, or a list of shapes; TensorShapes in Keras 2) as a list."""
    if _is_shape(value) or hasattr(value, "as_list"):
        return [_dims(value)]
    return [s for v in value for s in _shape_list(v)]


class ModelContext(Context):
    is_model = True

    # -- what a model context writes --------------------------------------------------------------
    def assemble(self, inputs: list[Any], body: Any) -> Any:
        """The model from its inputs and the layers after them (``body``: [Masking?, layer])."""
        raise NotImplementedError

    def spelled(self) -> str:
        raise NotImplementedError

    # -- building ----------------------------------------------------------------------------------
    def build(self) -> None:
        r = self.r
        self.layer = self._path_layer()
        self.time = r.case.timesteps if r.name == "manual_loop" else None
        self.batch = r.case.batch if r.case.options.stateful else None
        self.model = self._make(self.time, self.batch)

    def _path_layer(self) -> Any:
        """The layer the path built; the manual loop's cell(s), wrapped in a layer whose call loops."""
        r = self.r
        if r.name != "manual_loop":
            return r.layer  # type: ignore[attr-defined]
        from conformance.run.contexts.loop_layer import loop_layer

        r.record("layer = LoopLayer(cell)  # a keras.layers.Layer whose call is the loop above")
        return loop_layer(r)  # type: ignore[arg-type]

    def _inputs(self, time: int | None, batch: int | None) -> tuple[list[Any], list[str], dict[str, Any]]:
        """keras.Input per model input (x, each state, a mask argument), how each is spelled, and the
        keyword arguments the layer gets from them."""
        r, keras = self.r, self.r.keras
        case, feed = r.case, r.feed_dtype
        shape = (time, case.features)
        x = keras.Input(batch_shape=(batch, *shape), dtype=feed)
        inputs, shown, kwargs = [x], [f"keras.Input(shape={shape})"], {}
        if r.data.initial_state is not None or case.initial_state.kind == "get_initial_state":
            states = [
                keras.Input(batch_shape=(batch, s[1]), dtype=feed)
                for s in r.family.state_shapes(1, case.units)
            ]
            inputs += states
            shown += [f"keras.Input(shape=({s.shape[-1]},))" for s in states]
            kwargs["initial_state"] = r.nested(states)
        if case.mask is not None and case.mask.via == "argument":
            m = keras.Input(batch_shape=(batch, time), dtype="bool")
            inputs.append(m)
            shown.append(f"keras.Input(shape=({time},), dtype='bool')")
            kwargs["mask"] = m
        return inputs, shown, kwargs

    def _make(self, time: int | None, batch: int | None) -> Any:
        r, keras = self.r, self.r.keras
        inputs, shown, kwargs = self._inputs(time, batch)
        self.n_inputs = len(inputs)
        masking = r.case.mask is not None and r.case.mask.via == "masking_layer"
        head = r.case.head == "time_distributed_dense"
        body = [
            *(["keras.layers.Masking(0.0)"] if masking else []),
            "layer",
            *(["TimeDistributed(Dense(identity))"] if head else []),
        ]
        r.record(self.spelled_model(shown, body))  # before: a symbolic call that raises is this one
        seq = keras.layers.Masking(0.0)(inputs[0]) if masking else inputs[0]
        value = self.layer(seq, **kwargs)
        if head:
            value = self._head(value)
        return self.assemble(inputs, value)

    def head_layer(self) -> Any:
        """TimeDistributed(Dense) with an identity kernel: the outputs stay the oracle's."""
        r, keras = self.r, self.r.keras
        width = r.family.output_units or r.case.units
        # The class, not the name "identity": Keras 3.0 registers no such name.
        identity = keras.initializers.Identity()
        dense = keras.layers.Dense(width, use_bias=False, kernel_initializer=identity, dtype=r.dtype)
        dense.trainable = False
        return keras.layers.TimeDistributed(dense)

    def _head(self, value: Any) -> Any:
        head = self.head_layer()
        if isinstance(value, (list, tuple)):
            return [head(value[0]), *value[1:]]
        return head(value)

    def spelled_model(self, shown: list[str], body: list[str]) -> str:
        raise NotImplementedError

    # -- calling -----------------------------------------------------------------------------------
    def feed(self, x: Any, initial_state: list[Any] | None, mask: Any) -> Any:
        values = [x, *(initial_state or [])]
        if self.r.case.mask is not None and self.r.case.mask.via == "argument":
            values.append(mask)
        return values if len(values) > 1 else values[0]

    def call(self, x: Any, initial_state: list[Any] | None, mask: Any = None, training: bool = False) -> Any:
        shown = "x" if self.n_inputs == 1 else "[x, ...]"
        self.r.record(f"model({shown}{', training=True' if training else ''})")
        return self.model(self.feed(x, initial_state, mask), training=training)

    def split(self, value: Any) -> tuple[Any, list[Any] | None]:
        # The manual loop's layer returns what a layer returns: the output, then the states if asked.
        return self.r.structure.split(value, self.r.case.options.return_state, self.r.concat)  # type: ignore[no-any-return]

    # -- observations ------------------------------------------------------------------------------
    def observe(self, x: Any, initial_state: list[Any] | None, mask: Any) -> ModelRun:
        run = ModelRun(learning_rate=LEARNING_RATE)
        self._symbolic(run)
        numpy_feed = self._numpy(self.feed(x, initial_state, mask))
        try:
            if self.r.case.options.stateful:  # the stateful check carried it: predict from zeros
                self.reset_states()
            self.r.record(
                f"model.predict({'x' if self.n_inputs == 1 else '[x, ...]'}, batch_size={self.r.case.batch})"
            )
            predicted = self.model.predict(numpy_feed, batch_size=self.r.case.batch, verbose=0)
            output, states = self.split(predicted)
            run.predicted = (to_numpy(output), [to_numpy(s) for s in states or []])
        except Exception as exc:
            run.errors["predict"] = Raised(self.r.last_call, exc)
        run.not_trained = self._untrainable()
        if not run.not_trained:
            self._train(run, numpy_feed)
        if self.r.case.expect.saving:
            self._save(run, numpy_feed)
        return run

    def _save(self, run: ModelRun, numpy_feed: Any) -> None:
        """Saved and loaded back in each format the case asks for (the model holds the case's weights)."""
        r = self.r
        if r.name == "manual_loop":
            run.not_saved = "the manual loop's layer is the kit's own (a Keras user saves a Keras layer)"
            return
        if r.case.custom is not None:
            run.not_saved = "a custom cell: saving it needs its class registered, which is the user's code"
            return
        from conformance.run.saving.base import Session
        from conformance.run.saving.roundtrip import round_trip

        # The model that was trained is compiled with the kit's own loss (a local function no loader can
        # find): the saved model is the same graph built again around the same layer, uncompiled.
        if r.case.options.stateful:  # predict left a state in it: save the layer as built, from zeros
            self.reset_states()
        r.record("saved = the model above, built again around the same layer (not compiled)")
        saved = self._make(self.time, self.batch)
        steps: list[str] = []
        names = {id(v): n for n, v in r.weight_variables().items()}
        run.session = Session(r.tf, r.keras, r.env.flavour, saved, numpy_feed, self.split, steps, names)
        if "round_trip" in r.case.expect.checks:
            with tempfile.TemporaryDirectory(prefix="conformance-save-") as folder:
                run.saved = round_trip(run.session, Path(folder), r.case.expect.saving)
            r.record(f"saved and loaded back: {', '.join(r.case.expect.saving)}")

    def _numpy(self, feed: Any) -> Any:
        if isinstance(feed, list):
            return [np.asarray(v) for v in feed]
        return np.asarray(feed)

    def _symbolic(self, run: ModelRun) -> None:
        """The model's symbolic output shapes (it was built on None batch — unless stateful — and None time,
        but for the manual loop's Python loop), and the layer's compute_output_shape for the same input."""
        r = self.r
        try:
            run.symbolic = _shapes(self.model.outputs)
            if r.name == "manual_loop":  # the loop's layer is the kit's own: it declares no output shape
                return
            shape = (self.batch, self.time, r.case.features)
            r.record(f"layer.compute_output_shape({shape})")
            run.computed = _shape_list(self.layer.compute_output_shape(shape))
        except Exception as exc:
            run.errors["symbolic"] = Raised(r.last_call, exc)

    def _untrainable(self) -> str:
        """Why one training step cannot be compared with the oracle's gradient here ('' when it can)."""
        r, case = self.r, self.r.case
        if r.dtype not in ("float32", "float64"):
            return f"{r.dtype}: Keras casts or scales the loss in training (compared in float32, float64)"
        if case.options.dropping:
            return "dropout: a training step applies it, and the oracle has none"
        if case.options.stateful:
            return "a stateful layer: the stateful check drives it"
        if case.mask is not None and case.options.return_sequences:
            return "a masked sequence output: Keras weights the loss by its mask, the kit's loss does not"
        return ""

    def _targets(self, numpy_feed: Any) -> list[np.ndarray]:
        """The loss's cotangents as y_true, one per model output (a merge_mode=None pair: halves)."""
        r, data = self.r, self.r.data
        cot = data.cot_output
        outputs = (
            [cot[..., : cot.shape[-1] // 2], cot[..., cot.shape[-1] // 2 :]]
            if r.structure.pair_outputs
            else [cot]
        )
        if r.case.options.return_state:
            outputs += list(data.cot_states)
        return [np.asarray(o, dtype=np.float64 if r.dtype == "float64" else np.float32) for o in outputs]

    def _train(self, run: ModelRun, numpy_feed: Any) -> None:
        r, keras, tf = self.r, self.r.keras, self.r.tf
        targets = self._targets(numpy_feed)

        def loss(y_true: Any, y_pred: Any) -> Any:  # per sample: sum(cotangent * output); Keras averages
            product = tf.cast(y_true, y_pred.dtype) * y_pred
            return tf.reduce_sum(tf.reshape(product, [tf.shape(product)[0], -1]), axis=1)

        r.record(
            f"model.compile(optimizer=keras.optimizers.SGD({LEARNING_RATE}), "
            f"loss=[sum(y_true * y_pred) per sample] * {len(targets)})  # Keras's default jit_compile"
        )
        ys = targets if len(targets) > 1 else targets[0]
        try:
            self.model.compile(
                optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE), loss=[loss] * len(targets)
            )
        except Exception as exc:
            run.errors["train"] = Raised(r.last_call, exc)
            return
        # One compiled step serves both: train_on_batch, then fit for one step from the same weights again.
        for how in ("train_on_batch", "fit"):
            try:
                r.inject_weights(r.owner)  # from the case's weights, each time
                before = {n: to_numpy(v) for n, v in r.weight_variables().items()}
                if how == "train_on_batch":
                    r.record("model.train_on_batch(inputs, cotangents)")
                    self.model.train_on_batch(numpy_feed, ys)
                else:
                    r.record(
                        f"model.fit(inputs, cotangents, batch_size={r.case.batch}, epochs=1, shuffle=False)"
                    )
                    self.model.fit(
                        numpy_feed, ys, batch_size=r.case.batch, epochs=1, shuffle=False, verbose=0
                    )
                run.jit_compile[how] = str(getattr(self.model, "jit_compile", "?"))
                after = {n: to_numpy(v) for n, v in r.weight_variables().items()}
                run.trained[how] = {n: after[n] - before[n] for n in before}
            except Exception as exc:
                run.errors["train"] = Raised(r.last_call, exc)
                break
        r.inject_weights(r.owner)

    # -- the stateful check: predict carries the state; a reset as each Keras spells it ---------------
    def reset_states(self) -> None:
        if hasattr(self.model, "reset_states"):  # Keras 2; Keras 3's Model has none (keras#18467)
            self.r.record("model.reset_states()")
            self.model.reset_states()
            return
        self.r.record(
            "for layer in model.layers: layer.reset_states()  # Keras 3: Model.reset_states is gone"
        )
        for layer in self.model.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    def carry(self, x: Any, mask: Any) -> Any:
        feed = self._numpy(self.feed(x, None, mask))
        rows = (feed[0] if isinstance(feed, list) else feed).shape[0]
        self.r.record(f"model.predict(<{rows} rows>, batch_size={rows})  # the model carries the state")
        return self.model.predict(feed, batch_size=rows, verbose=0)

    def held_states(self) -> list[np.ndarray]:
        self.r.record("[s.numpy() for s in layer.states]")
        return [to_numpy(s) for s in self.layer.states]

    def in_mode(self, name: str) -> Any:
        return getattr(self, name)  # predict is Keras's own loop: it is not wrapped in the item's mode
