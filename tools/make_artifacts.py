"""Make the saved-model artifacts shipped with the kit (cases/artifacts/<writer>/) from cases/carry_over.toml.

Run it with the Python of the release that writes them (a tox env's), from anywhere in a checkout:

    .tox/tf2.12/bin/python tools/make_artifacts.py --skip keras_saved_model  # -> .../tf2.12.1-keras2/
    .tox/tf2.15/bin/python tools/make_artifacts.py      # -> cases/artifacts/tf2.15.1-keras2/
    .tox/tf2.21/bin/python tools/make_artifacts.py      # -> cases/artifacts/tf2.21.0-keras3/

It runs the carry-over cases with --conformance-record into a temporary folder, as a user records, and
copies the saved models (each item's ``<entry>.saved/`` folder: the formats, io.npz, meta.json) into the
writer's folder, replacing what was there. The baseline .npz entries are not shipped (they are the
writer's numbers; the artifacts carry their own in io.npz).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases" / "carry_over.toml"
SHIPPED = ROOT / "cases" / "artifacts"
# Formats recorded but not shipped: a SavedModel is 70-300 KiB of graph per item (a team records its own
# with --conformance-record); meta.json says so, and the carry_over check reports it as not shipped.
NOT_SHIPPED = ("saved_model", "export")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        help="also leave this format out (e.g. keras_saved_model, ~280 KiB per item, shipped from 2.15 only)",
    )
    skipped = (*NOT_SHIPPED, *ap.parse_args().skip)
    with tempfile.TemporaryDirectory(prefix="conformance-artifacts-") as tmp:
        record = Path(tmp) / "record"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(CASES),
            "-p",
            "no:cacheprovider",
            "-q",
            "--conformance-devices=cpu",
            "--conformance-record",
            str(record),
        ]
        print("$", " ".join(cmd), flush=True)
        done = subprocess.run(cmd, cwd=tmp, check=False)
        if done.returncode not in (0, 1):  # 1: some items failed or diverged; the artifacts are still made
            return done.returncode
        folders = sorted(record.glob("*/*.saved"))
        if not folders:
            print("no saved models were recorded", file=sys.stderr)
            return 2
        writer = json.loads((folders[0] / "meta.json").read_text(encoding="utf-8"))["writer"]
        target = SHIPPED / f"tf{writer['tensorflow']}-{writer['keras_flavour']}"
        if target.exists():
            shutil.rmtree(target)
        for folder in folders:
            dest = target / folder.relative_to(record)
            shutil.copytree(folder, dest)
            meta = json.loads((dest / "meta.json").read_text(encoding="utf-8"))
            for name in skipped:
                if (dest / name).exists():
                    shutil.rmtree(dest / name)
                    meta["written"][name] = (
                        "not shipped with the kit (size): record it with --conformance-record"
                    )
            (dest / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
            for empty in sorted(dest.iterdir()):
                if empty.is_dir() and not any(empty.iterdir()):
                    empty.rmdir()
        size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
        print(
            f"wrote {len(folders)} items' saved models to {target.relative_to(ROOT)} ({size / 1024:.0f} KiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
