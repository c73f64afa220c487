"""Lab profiles: the base model adapted to one lab's reviewed cells, as one file with its own card.

A profile is a JSON file (``NAME.hlprofile.json``) holding a numpy head
(:mod:`hemoapp.core.profile_fit`) on the base model's pooled sidecar features
(:mod:`hemoapp.core.lab_features`), and its card: the base model's name, version and
sha256, the sha256 of every cell it was fitted on and the counts per class, who made it and
when, and its cross-validated accuracy on held-out reviewed cells (with a 95% interval)
beside the base model's on the same cells. Its ``sha256`` is the digest of everything in it
but its name (so renaming keeps its identity) and is checked when it is loaded.

:func:`build_profile` fits one and refuses a profile that is not better than the base model
(:class:`ProfileRefused`, with both numbers); :class:`ProfileClassifier` classifies with one
like a :class:`~hemoapp.core.classifier.Classifier`, so the pipeline, the CSVs and the report
work unchanged and name the profile (``model_name`` ``BASE+lab:NAME``) and its sha256.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hemoapp.core.assessability import measure_quality, ood_limit, quality_limits
from hemoapp.core.atomic_write import write_text
from hemoapp.core.binomial import proportion_interval
from hemoapp.core.classifier import Classifier, ModelInfo, softmax
from hemoapp.core.contract import CLASS_NAMES, FRAMING_CENTRE_CROP, FRAMINGS
from hemoapp.core.imageio import is_image_name
from hemoapp.core.lab_features import DIHEDRAL, FeatureExtractor, extract_views, load_cells
from hemoapp.core.profile_fit import (
    FitCancelled,
    FitSettings,
    Head,
    cross_validate,
    fit_head,
    head_logits,
    views_to_fit,
)

#: File name ending of a lab profile.
PROFILE_SUFFIX = ".hlprofile.json"

#: ``kind`` of a profile file.
PROFILE_KIND = "hemolens-lab-profile"

#: Bump when the file's format changes incompatibly.
PROFILE_SCHEMA_VERSION = 1

#: How cells are framed for a profile's features (measured: training/EXPERIMENTS.md, "Lab profiles").
DEFAULT_PROFILE_FRAMING = FRAMING_CENTRE_CROP

__all__ = ["FitCancelled", "LabProfile", "ProfileClassifier", "ProfileError", "ProfileRefused", "build_profile",
           "class_folder_cells", "load_profile", "save_profile", "PROFILE_SUFFIX"]


class ProfileError(Exception):
    """A profile cannot be made or used; the message says why."""


class ProfileRefused(ProfileError):
    """The fitted profile is not better than the base model on the held-out cells (both numbers in the message)."""

    def __init__(self, message: str, card: dict) -> None:
        super().__init__(message)
        self.card = card


def _array_text(values: np.ndarray) -> dict:
    data = np.ascontiguousarray(np.asarray(values, dtype="<f4"))
    return {"shape": list(data.shape), "float32_base64": base64.b64encode(data.tobytes()).decode("ascii")}


def _array_of(block: dict) -> np.ndarray:
    raw = base64.b64decode(block["float32_base64"].encode("ascii"), validate=True)
    return np.frombuffer(raw, dtype="<f4").reshape(block["shape"]).astype(np.float64)


def content_sha256(document: dict) -> str:
    """The profile's sha256: of its canonical JSON without ``name`` and ``sha256``."""
    content = {k: v for k, v in document.items() if k not in ("name", "sha256")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


@dataclass
class LabProfile:
    """A lab profile: its name, its card (a dict, as in the file) and its head.

    Attributes:
        name: what the lab calls it (not part of its sha256).
        card: base model, cells, counts, author, created, cross-validation, settings, framing.
        head: the fitted :class:`~hemoapp.core.profile_fit.Head`.
        sha256: the content digest (:func:`content_sha256`).
        path: the file it was loaded from or saved to, if any.
    """

    name: str
    card: dict
    head: Head
    sha256: str = ""
    path: Path | None = None

    def document(self) -> dict:
        """The profile as the JSON document written to its file (``sha256`` filled in)."""
        head = self.head
        doc = {
            "kind": PROFILE_KIND,
            "schema_version": PROFILE_SCHEMA_VERSION,
            "name": self.name,
            "card": self.card,
            "head": {
                "adapted_classes": [CLASS_NAMES[i] for i in head.adapted],
                "weights": _array_text(head.weights),
                "biases": _array_text(head.biases),
                "centre": _array_text(head.centre),
                "scale": head.scale,
                "energy_limit": head.energy_limit,
                "temperature": head.temperature,
            },
        }
        doc["sha256"] = content_sha256(doc)
        return doc

    @property
    def base(self) -> dict:
        """The base model the profile is for: ``{"name", "version", "sha256"}``."""
        return self.card["base_model"]

    @property
    def framing(self) -> str:
        """How the profile frames a cell (see the contract)."""
        return str(self.card.get("framing", FRAMING_CENTRE_CROP))

    def summary(self) -> str:
        """One line: the cross-validated accuracy with its interval beside the base model's."""
        cv = self.card["cross_validation"]
        low, high = cv["interval95"]
        return (f"{self.name}: {cv['profile_accuracy']:.1%} (95% {low:.1%}-{high:.1%}) on {cv['n']} held-out "
                f"reviewed cells, base model {cv['base_accuracy']:.1%} on the same cells")


def save_profile(profile: LabProfile, path: str | os.PathLike[str]) -> Path:
    """Write ``profile`` to ``path`` (atomically); its ``sha256`` and ``path`` are set."""
    doc = profile.document()
    path = Path(path)
    write_text(path, json.dumps(doc, indent=1) + "\n")
    profile.sha256, profile.path = doc["sha256"], path
    return path


def load_profile(path: str | os.PathLike[str]) -> LabProfile:
    """Read and check a profile file.

    Raises:
        ProfileError: unreadable, not a profile, another schema, or content that does not match its sha256.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProfileError(f"The lab profile {path.name} cannot be read: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("kind") != PROFILE_KIND:
        raise ProfileError(f"{path.name} is not a HemoLens lab profile.")
    if doc.get("schema_version") != PROFILE_SCHEMA_VERSION:
        raise ProfileError(f"The lab profile {path.name} has schema {doc.get('schema_version')!r}; "
                           f"this HemoLens reads {PROFILE_SCHEMA_VERSION}.")
    if str(doc.get("sha256", "")).lower() != content_sha256(doc):
        raise ProfileError(f"The lab profile {path.name} does not match its sha256: it was changed or damaged.")
    try:
        block = doc["head"]
        head = Head(
            tuple(CLASS_NAMES.index(c) for c in block["adapted_classes"]),
            _array_of(block["weights"]), _array_of(block["biases"]), _array_of(block["centre"]),
            float(block["scale"]), None if block["energy_limit"] is None else float(block["energy_limit"]),
            float(block["temperature"]),
        )
        card = dict(doc["card"])
        card["base_model"]["sha256"]  # noqa: B018 - a card without it is refused
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"The lab profile {path.name} is malformed: {exc}") from exc
    return LabProfile(str(doc.get("name") or path.name.removesuffix(PROFILE_SUFFIX)), card, head,
                      doc["sha256"].lower(), path)


def profile_model_name(base_name: str, profile_name: str) -> str:
    """What ``model_name`` says for a profile: ``BASE+lab:NAME``."""
    return f"{base_name}+lab:{profile_name}"


class ProfileClassifier:
    """Classifies with a lab profile on top of its base :class:`~hemoapp.core.classifier.Classifier`.

    It has what the pipeline and the exports use from a Classifier (``info``, ``class_names``,
    ``input_size``, ``framing``, ``temperature``, ``predict_logits``, ``predict_arrays``); its
    ``info`` names the profile (``BASE+lab:NAME``, the base version) and the profile's sha256,
    and its card's ``training`` block is the profile's card (which names the base model's sha256).

    Raises:
        ProfileError: the profile is for another base model, or the base model has no usable sidecar.
    """

    def __init__(self, profile: LabProfile, base: Classifier) -> None:
        from hemoapp.core.heatmap import SidecarError

        if profile.base["sha256"].lower() != base.info.sha256.lower():
            raise ProfileError(
                f"The lab profile {profile.name} was made for {profile.base.get('name')} "
                f"{profile.base.get('version')} (sha256 {profile.base['sha256'][:12]}…), not the installed "
                f"{base.info.name} {base.info.version} ({base.info.sha256[:12]}…): fit it again on this model.")
        try:
            self.extractor = FeatureExtractor(base.model_path, base.info.sha256, base.num_threads)
        except SidecarError as exc:
            raise ProfileError(f"The lab profile cannot be used: {exc}") from exc
        self.profile, self.base = profile, base
        self.model_path = profile.path or base.model_path
        self.num_threads = base.num_threads
        self.class_names = base.class_names
        self.input_size = base.input_size
        self.framing = profile.framing
        self.temperature = 1.0  # the head's logits are already calibrated where the base model decides
        # The profile's quality bounds (the base card's, widened to the lab's reviewed cells; older
        # profiles: the base card's); no energy limit: it is about the base model's logits, which the
        # profile replaces where it decides.
        quality = (profile.card.get("assessability") or {}).get("quality") or dict(
            base.card.assessability or {}).get("quality")
        self.card = dataclasses.replace(
            base.card, name=profile_model_name(base.info.name, profile.name), sha256=profile.sha256,
            calibration_temperature=1.0, training=profile.card,
            metrics={"cross_validation": profile.card.get("cross_validation", {})},
            assessability={"quality": quality} if quality else {},
            model_file=profile.path.name if profile.path else "")
        self.info = ModelInfo(self.card.name, base.info.version, profile.sha256, Path(self.model_path), self.card)

    def __repr__(self) -> str:
        return f"ProfileClassifier({self.profile.name!r} on {self.base!r})"

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``(N, S, S, 3)`` → the profile's logits ``(N, 8)`` float32."""
        batch = np.asarray(batch)
        size = self.input_size
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
            raise ValueError(f"expected a uint8 batch of shape (N, {size}, {size}, 3), got {batch.dtype} {batch.shape}")
        pooled = self.extractor.pooled(batch)
        return head_logits(self.profile.head, pooled, self.extractor.kernel, self.extractor.bias).astype(np.float32)

    def predict_arrays(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities ``softmax(logits)``, float32 ``(N, 8)``."""
        return softmax(self.predict_logits(batch), 1.0)


def class_folder_cells(folder: str | os.PathLike[str]) -> tuple[list[Path], list[str], list[str]]:
    """The images of a folder of class folders, named as a lab names the classes (as ``hemoapp validate``
    reads them: ``neutrophil``, ``Band neutrophils``, ``Lymphocytes``, ``NRBC``…).

    Returns ``(paths, labels, skipped)``: ``skipped`` names the sub-folders that are no class.
    """
    from hemoapp.core.reference_labels import class_of_folder

    folder = Path(folder)
    if not folder.is_dir():
        raise ProfileError(f"{folder} is not a folder.")
    paths, labels, skipped = [], [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = class_of_folder(sub.name)
        if name is None:
            skipped.append(sub.name)
            continue
        for path in sorted(sub.iterdir()):
            if path.is_file() and is_image_name(path.name) and not path.name.startswith("."):
                paths.append(path)
                labels.append(name)
    return paths, labels, skipped


def lab_quality_limits(base_block: dict | None, inputs: Sequence[np.ndarray]) -> dict[str, float]:
    """The base card's quality limits widened to take in the lab's reviewed cells (people judged them).

    Each bound moves only outward, to the lab cells' extreme widened as the base card's were
    fitted (sharpness x0.5 / x2, brightness -30 / +20, cell offset x1.25, cell extent x0.67):
    a lab whose camera is blurrier than PBC's gets its cells judged, and nothing the base
    model accepts is refused.
    """
    limits = quality_limits(base_block)
    found = [measure_quality(item) for item in inputs]
    if not found:
        return limits
    cells = [q for q in found if q.cell_found]
    limits["min_sharpness"] = min(limits["min_sharpness"], 0.5 * min(q.sharpness for q in found))
    limits["max_sharpness"] = max(limits["max_sharpness"], 2.0 * max(q.sharpness for q in found))
    limits["min_brightness"] = min(limits["min_brightness"], min(q.brightness for q in found) - 30.0)
    limits["max_brightness"] = max(limits["max_brightness"], min(255.0, max(q.brightness for q in found) + 20.0))
    limits["max_clipped"] = max(limits["max_clipped"], max(q.clipped for q in found))
    if cells:
        limits["max_cell_offset"] = max(limits["max_cell_offset"], 1.25 * max(q.cell_offset for q in cells))
        limits["min_cell_extent"] = min(limits["min_cell_extent"], 0.67 * min(q.cell_extent for q in cells))
        limits["max_cell_extent"] = max(limits["max_cell_extent"], max(q.cell_extent for q in cells))
        limits["max_cells"] = max(limits["max_cells"], float(max(q.cells for q in cells)))
    return {key: round(float(value), 4) for key, value in limits.items()}


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def build_profile(paths: Sequence[str | os.PathLike[str]], labels: Sequence[str], base: Classifier, name: str,
                  author: str, settings: FitSettings = FitSettings(), framing: str = DEFAULT_PROFILE_FRAMING,
                  progress: Callable[[str, int, int], None] | None = None,
                  cancel: threading.Event | None = None) -> LabProfile:
    """Fit a lab profile on reviewed cells (``labels[i]`` is the class of ``paths[i]``).

    Cells are decoded like the app classifies them; an unreadable one is left out (the card
    counts them). The same cell twice (same sha256) counts once. ``progress(stage, done, total)``
    with stage ``"features"``, ``"cross-validation"`` or ``"fit"``.

    Raises:
        ProfileError: too few cells (no class has ``settings.min_cells``), or no sidecar.
        ProfileRefused: the profile is not better than the base model on the held-out cells.
        FitCancelled: ``cancel`` was set.
    """
    from hemoapp.core.heatmap import SidecarError

    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing {framing!r}")
    unknown = sorted({label for label in labels if label not in CLASS_NAMES})
    if unknown:
        raise ProfileError(f"unknown classes: {', '.join(unknown)}; expected {', '.join(CLASS_NAMES)}")
    counts = {c: labels.count(c) for c in CLASS_NAMES if c in labels} if isinstance(labels, list) else None
    short = [c for c, n in (counts or {}).items() if n < settings.min_cells]
    if counts is not None and not any(n >= settings.min_cells for n in counts.values()):
        raise ProfileError(_too_few(counts, settings.min_cells))
    try:
        extractor = FeatureExtractor(base.model_path, base.info.sha256, base.num_threads)
    except SidecarError as exc:
        raise ProfileError(f"No lab profile can be made for this model: {exc}") from exc
    inputs, digests, errors = load_cells(paths, base.input_size, framing, FRAMING_CENTRE_CROP)
    seen: set[str] = set()
    keep = []
    for i, (item, digest) in enumerate(zip(inputs, digests)):
        if item is not None and digest not in seen:
            seen.add(digest)
            keep.append(i)
    y = np.array([CLASS_NAMES.index(labels[i]) for i in keep], dtype=np.int64)
    kept_counts = {CLASS_NAMES[c]: int(n) for c, n in enumerate(np.bincount(y, minlength=len(CLASS_NAMES))) if n}
    if not any(n >= settings.min_cells for n in kept_counts.values()):
        raise ProfileError(_too_few(kept_counts, settings.min_cells))
    views = views_to_fit(settings, DIHEDRAL)
    feats = extract_views(extractor, [inputs[i] for i in keep], views,
                          progress=(lambda d, t: progress("features", d, t)) if progress else None, cancel=cancel)
    if feats is None:
        raise FitCancelled("the fit was cancelled")
    limit = ood_limit(base.card.assessability)
    temperature = base.card.calibration_temperature
    cv = cross_validate(feats, y, extractor.kernel, extractor.bias, settings, limit, temperature,
                        (lambda d, t: progress("cross-validation", d, t)) if progress else None, cancel)
    if progress:
        progress("fit", 0, 1)
    head = fit_head(feats, y, extractor.kernel, extractor.bias, settings, limit, temperature, cancel)
    if progress:
        progress("fit", 1, 1)
    interval = proportion_interval(cv.profile_correct, cv.n) or (0.0, 1.0)
    base_interval = proportion_interval(cv.base_correct, cv.n) or (0.0, 1.0)
    card = {
        "base_model": {"name": base.info.name, "version": base.info.version, "sha256": base.info.sha256,
                       "sidecar_sha256": str(extractor.card["sha256"])},
        "author": author,
        "created": _utc_now(),
        "framing": framing,
        "cells": {CLASS_NAMES[y[j]]: [] for j in range(len(y))},
        "counts": kept_counts,
        "adapted_classes": [CLASS_NAMES[c] for c in head.adapted],
        "base_kept_classes": [c for c in CLASS_NAMES if c not in [CLASS_NAMES[i] for i in head.adapted]],
        "left_out": {"unreadable": sum(1 for e in errors if e), "duplicates": sum(1 for i, item in enumerate(inputs)
                                                                                  if item is not None) - len(keep)},
        "cross_validation": {
            "n": cv.n, "folds": cv.folds, "profile_correct": cv.profile_correct, "base_correct": cv.base_correct,
            "profile_accuracy": cv.profile_accuracy, "base_accuracy": cv.base_accuracy,
            "interval95": list(interval), "base_interval95": list(base_interval),
            "interval_method": "exact binomial (Clopper-Pearson), 95%",
            "per_class": {CLASS_NAMES[c]: {"n": n, "profile_correct": p, "base_correct": b}
                          for c, (n, p, b) in cv.per_class.items()},
        },
        "settings": settings.to_dict(),
        "assessability": {
            "quality": lab_quality_limits(base.card.assessability, [inputs[i] for i in keep]),
            "fitted_on": (f"the base card's quality bounds, widened to take in the {len(keep)} reviewed cells "
                          "(sharpness x0.5 / x2, brightness -30 / +20, cell offset x1.25, cell extent x0.67); "
                          "no energy limit (the lab's head replaces the base logits where it decides)"),
        },
        "method": ("multinomial logistic regression on the base model's mean-pooled sidecar features (centred on "
                   "the lab's cells, L2-normalised), dihedral views, class-balanced; classes with fewer than "
                   f"{settings.min_cells} cells and cells the base model knows (energy <= {limit}) keep the "
                   "base model's logits"),
    }
    for j, i in enumerate(keep):
        card["cells"][CLASS_NAMES[y[j]]].append(digests[i])
    if short:
        card["too_few_cells"] = short
    if cv.profile_correct <= cv.base_correct:
        raise ProfileRefused(
            f"The profile is not better than the base model on the same {cv.n} held-out reviewed cells: "
            f"{cv.profile_accuracy:.1%} ({cv.profile_correct}/{cv.n}) against the base model's "
            f"{cv.base_accuracy:.1%} ({cv.base_correct}/{cv.n}). It was not made; review more cells.", card)
    return LabProfile(name, card, head)


def _too_few(counts: dict, minimum: int) -> str:
    have = ", ".join(f"{c} {n}" for c, n in counts.items()) or "none"
    return (f"Too few reviewed cells for a lab profile: a class needs at least {minimum} (have: {have}). "
            "Review more cells.")


def is_profile_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a lab profile file (``*.hlprofile.json``)."""
    return str(path).lower().endswith(PROFILE_SUFFIX)


def open_profile_classifier(path: str | os.PathLike[str], num_threads: int | None = None,
                            base: Classifier | None = None) -> ProfileClassifier:
    """A :class:`ProfileClassifier` for the profile at ``path`` on ``base`` (default: the installed model).

    Raises:
        ProfileError: the profile cannot be read, or is for another model.
        ModelLoadError: no base model can be loaded.
    """
    from hemoapp.core.classifier import load_default_classifier

    profile = load_profile(path)
    return ProfileClassifier(profile, base or load_default_classifier(num_threads=num_threads))
