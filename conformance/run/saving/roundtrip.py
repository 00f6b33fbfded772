"""Write a model in each format asked for, and load each back with every loader (registry.SAVE_FORMATS).

``write_all`` and ``load_all`` are separate so that carry-over can write on one release and load on the
next; ``round_trip`` does both in one folder, within the running release.
"""

from __future__ import annotations

from pathlib import Path

from conformance import registry
from conformance.run.probes import Raised
from conformance.run.saving.base import Loaded, Session, load


def _entry(name: str) -> registry.SaveFormatEntry:
    return registry.by_name(registry.SAVE_FORMATS)[name]  # type: ignore[no-any-return]


def write_all(s: Session, folder: Path, formats: tuple[str, ...]) -> dict[str, Raised | str | None]:
    """Each format written into its own subfolder: None when written, why not (this Keras does not write
    it), or what the writer raised."""
    done: dict[str, Raised | str | None] = {}
    for name in formats:
        entry = _entry(name)
        if s.flavour not in entry.writers:
            done[name] = f"{s.flavour} does not write it (written by {', '.join(entry.writers)})"
            continue
        fmt = registry.save_format(name)
        target = folder / name
        if fmt.portable:
            target.mkdir(parents=True, exist_ok=True)
        try:
            fmt.write(s, target)
            done[name] = None
        except Exception as exc:
            done[name] = Raised(s.steps[-1] if s.steps else f"write {name}", exc)
    return done


def load_all(
    s: Session, folder: Path, formats: tuple[str, ...], written: dict[str, Raised | str | None]
) -> list[Loaded]:
    """Every loader of every format over what was written (a format not written: each loader says why)."""
    out = []
    for name in formats:
        for loader in _entry(name).loaders:
            status = written.get(name, "not written")
            if status is None:
                out.append(load(registry.save_format(name), loader, s, folder / name))
            elif isinstance(status, Raised):
                out.append(Loaded(name, loader, call=status.call, raised=status))
            else:
                out.append(Loaded(name, loader, unavailable=status))
    return out


def round_trip(s: Session, folder: Path, formats: tuple[str, ...]) -> list[Loaded]:
    return load_all(s, folder, formats, write_all(s, folder, formats))
