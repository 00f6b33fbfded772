"""``train_step``: in a model context, one training step moves every weight as SGD moves it by the
oracle's gradient: ``compile(optimizer=SGD(lr), loss=<the item's loss, per sample>)``, then
``train_on_batch`` (and, from the same weights again, ``fit`` for one step), with Keras's own default
``jit_compile``. Keras averages the per-sample loss over the batch, so each weight moves by
``-lr / batch × g``, with ``g`` the oracle's gradient of the item's loss; the step is read back as that
gradient and compared at the gradient tolerance. A weight that did not move, or moved wrongly, is named."""

from __future__ import annotations

import numpy as np

from conformance.checks.base import CheckResult, Context


def check(ctx: Context) -> CheckResult:
    r = CheckResult("train_step")
    model, ref, tol = ctx.run.model, ctx.ref, ctx.grads_tol
    if model is None:
        r.not_applicable = "the layer is called alone (context 'call')"
        return r
    if r.raised(model.errors.get("train")):
        return r
    if model.not_trained:
        r.not_applicable = model.not_trained
        return r
    gradients = ref.gradients if ref is not None else None
    if gradients is None:
        r.not_applicable = "no oracle gradient to compare the step with"
        return r
    scale = -model.learning_rate / ctx.case.batch
    for how, moved in model.trained.items():
        jit = model.jit_compile.get(how, "?")
        for name, delta in moved.items():
            want = gradients.weights[name]
            if not np.any(delta) and np.any(want):
                r.add(
                    f"{how}.{name}",
                    f"{how} (jit_compile={jit}) did not move {name}: the optimizer applied no update",
                )
                continue
            r.judge(
                delta / scale,
                want,
                tol,
                f"{how} (jit_compile={jit}): the step on {name}, read as the gradient it applied "
                f"(Δw ÷ (-lr/batch) = Δw ÷ {scale:g}), vs the oracle's",
                subject=f"{how}.{name}",
                vs_reference=True,
                scale_atol=True,
            )
    return r
