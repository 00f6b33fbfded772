"""``functional``: the path's layer in ``keras.Model(inputs, outputs)`` built from ``keras.Input``."""

from __future__ import annotations

from typing import Any

from conformance.run.contexts.model import ModelContext


class Functional(ModelContext):
    name = "functional"

    def assemble(self, inputs: list[Any], body: Any) -> Any:
        return self.r.keras.Model(inputs if len(inputs) > 1 else inputs[0], body)

    def spelled_model(self, shown: list[str], body: list[str]) -> str:
        rest = shown[1:]
        named = ["x", *(f"s{i}" for i in range(len(rest)))]
        call = "x"
        for step in body:
            call = f"{step}({call}" + (", ...)" if step == "layer" and rest else ")")
        inputs = named[0] if len(named) == 1 else f"[{', '.join(named)}]"
        return f"{inputs} = {', '.join(shown)}; model = keras.Model({inputs}, {call})"
