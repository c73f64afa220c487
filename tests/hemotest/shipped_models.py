"""A copy of the shipped model, its card and its heatmap sidecar, for tests that change or remove one of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

#: The shipped model's file name stem.
STEM = "hemolens-lite0"


def copy_shipped_models(repo_root: Path, models: Path, sidecar: str = "matching") -> Path:
    """Copy ``models/`` (model, card, ``heatmap/``) into ``models``; return the model's path.

    ``sidecar``: ``"matching"`` (as shipped), ``"another model"`` (its card names another
    model's sha256) or ``"missing"`` (no ``heatmap/`` folder).
    """
    models.mkdir(parents=True, exist_ok=True)
    for name in (f"{STEM}.tflite", f"{STEM}.card.json"):
        shutil.copyfile(repo_root / "models" / name, models / name)
    if sidecar != "missing":
        shutil.copytree(repo_root / "models" / "heatmap", models / "heatmap")
    if sidecar == "another model":
        card = models / "heatmap" / f"{STEM}.json"
        data = json.loads(card.read_text(encoding="utf-8"))
        data["base_model"]["sha256"] = "0" * 64
        card.write_text(json.dumps(data), encoding="utf-8")
    return models / f"{STEM}.tflite"
