"""Lab profiles: the fit, its card and guards, the file, and classifying with a profile."""

from __future__ import annotations

import csv
import hashlib
import json
import threading

import numpy as np
import pytest

from hemoapp.core.classifier import load_default_classifier
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.lab_profile import (
    FitCancelled,
    ProfileClassifier,
    ProfileError,
    ProfileRefused,
    build_profile,
    class_folder_cells,
    load_profile,
    save_profile,
)
from hemoapp.core.profile_fit import FitSettings, Head, head_logits, stratified_folds
from hemotest.lab_cells import make_lab_folder

#: Two views instead of eight keep the tests fast; the fit is the app's.
FAST = FitSettings(views=2, steps=150)


@pytest.fixture(scope="module")
def base():
    try:
        return load_default_classifier(num_threads=1)
    except Exception as exc:  # noqa: BLE001 - no shipped model: nothing to adapt
        pytest.skip(f"the shipped model is not available: {exc}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return make_lab_folder(tmp_path_factory.mktemp("lab"), per_class=6)


@pytest.fixture(scope="module")
def fitted(base, lab):
    paths, labels, _ = class_folder_cells(lab)
    stages = []
    profile = build_profile(paths, labels, base, "Lab A", "tester", FAST,
                            progress=lambda stage, done, total: stages.append(stage))
    return profile, paths, labels, stages


def test_profile_card_names_base_cells_counts_author_and_cv(fitted, base):
    profile, paths, labels, stages = fitted
    card = profile.card
    assert card["base_model"] == {**card["base_model"], "name": base.info.name, "version": base.info.version,
                                  "sha256": base.info.sha256}
    fitted_on = sorted(sha for cells in card["cells"].values() for sha in cells)
    assert fitted_on == sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in paths)
    assert card["counts"] == {"eosinophil": 6, "lymphocyte": 6, "neutrophil": 6}
    assert card["adapted_classes"] == ["eosinophil", "lymphocyte", "neutrophil"]
    assert "ig" in card["base_kept_classes"]
    assert card["author"] == "tester" and card["created"].endswith("+00:00")
    cv = card["cross_validation"]
    assert cv["n"] == 18 and cv["profile_correct"] > cv["base_correct"]
    low, high = cv["interval95"]
    assert low < cv["profile_accuracy"] < high or cv["profile_accuracy"] == 1.0
    assert {"features", "cross-validation", "fit"} <= set(stages)
    assert "18 held-out" in profile.summary()


def test_profile_file_round_trip_rename_and_tamper(fitted, tmp_path):
    profile = fitted[0]
    path = save_profile(profile, tmp_path / "a.hlprofile.json")
    loaded = load_profile(path)
    assert loaded.sha256 == profile.sha256 and len(loaded.sha256) == 64
    assert np.allclose(loaded.head.weights, profile.head.weights, atol=1e-6)
    doc = json.loads(path.read_text())
    doc["name"] = "Renamed"
    path.write_text(json.dumps(doc))
    assert load_profile(path).sha256 == profile.sha256  # the name is not part of its identity
    doc["card"]["counts"]["neutrophil"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ProfileError, match="sha256"):
        load_profile(path)


def test_profile_classifier_names_profile_in_csv_rows(fitted, base, tmp_path):
    from hemoapp.core.export import write_predictions_csv
    from hemoapp.core.pipeline import iter_predictions
    from hemoapp.core.scan import scan_folder

    profile, paths, labels, _ = fitted
    save_profile(profile, tmp_path / "a.hlprofile.json")
    classifier = ProfileClassifier(profile, base)
    records = scan_folder(paths[0].parents[1]).records
    predictions = [p for batch in iter_predictions(records, classifier, decode_workers=1) for p in batch.predictions]
    assert all(p.ok for p in predictions)
    # The quality bounds take in the lab's reviewed (people-judged) pictures: the base card calls this blurry
    # lab's cells not assessable, the profile does not.
    base_predictions = [p for batch in iter_predictions(records, base, decode_workers=1) for p in batch.predictions]
    assert sum(not p.assessable for p in base_predictions) >= 12
    assert all(p.assessable for p in predictions)
    limits = profile.card["assessability"]["quality"]
    assert classifier.info.card.assessability == {"quality": limits}
    assert limits["min_sharpness"] < base.card.assessability["quality"]["min_sharpness"]
    # On the cells it was fitted on, the profile beats the base model (which is near 0% on this lab).
    truth = [r.relpath.split("/")[0] for r in records]
    right = sum(p.predicted == t for p, t in zip(predictions, truth))
    assert right >= 15
    out = write_predictions_csv(tmp_path / "r.csv", predictions, classifier.info)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["model_name"] for r in rows} == {"hemolens-lite0+lab:Lab A"}
    assert {r["model_sha256"] for r in rows} == {profile.sha256}
    assert classifier.info.card.training["base_model"]["sha256"] == base.info.sha256


def test_too_few_cells_is_refused(base, lab):
    paths, labels, _ = class_folder_cells(lab)
    with pytest.raises(ProfileError, match="at least 7"):
        build_profile(paths, labels, base, "x", "t", FitSettings(min_cells=7, views=1))


def test_profile_no_better_than_base_is_refused_with_both_numbers(base, pbc8_originals):
    # PBC's own cells: the base model gets them all right, a profile cannot do better.
    paths, labels = [], []
    for name in ("neutrophil", "lymphocyte"):
        files = sorted((pbc8_originals / name).glob("*.jpg"))[:5]
        paths += files
        labels += [name] * len(files)
    with pytest.raises(ProfileRefused) as info:
        build_profile(paths, labels, base, "pbc", "t", FitSettings(views=1, steps=50))
    assert "100.0% (10/10)" in str(info.value) and "not better" in str(info.value)


def test_profile_for_another_base_model_is_refused(fitted, base):
    profile = fitted[0]
    other = type(profile)(profile.name, {**profile.card, "base_model": {**profile.base, "sha256": "0" * 64}},
                          profile.head)
    with pytest.raises(ProfileError, match="fit it again"):
        ProfileClassifier(other, base)


def test_cancel_stops_the_fit(base, lab):
    paths, labels, _ = class_folder_cells(lab)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FitCancelled):
        build_profile(paths, labels, base, "x", "t", FAST, cancel=cancel)


def test_unreviewed_classes_keep_base_logits_and_gate():
    rng = np.random.default_rng(1)
    kernel, bias = rng.normal(size=(6, 8)), rng.normal(size=8)
    pooled = rng.normal(size=(4, 6))
    head = Head((1, 6), rng.normal(size=(6, 2)), np.zeros(2), np.zeros(6), 10.0, None, 2.0)
    logits = head_logits(head, pooled, kernel, bias)
    base = pooled @ kernel + bias
    kept = [c for c in range(8) if c not in (1, 6)]
    assert np.allclose(logits[:, kept], base[:, kept] / 2.0)
    gated = head_logits(Head(head.adapted, head.weights, head.biases, head.centre, 10.0, 1e9, 2.0), pooled, kernel, bias)
    assert np.allclose(gated, base / 2.0)  # every cell "known" to the base model keeps its logits


def test_stratified_folds_hold_every_cell_out_once():
    labels = np.array([0] * 7 + [3] * 5 + [5] * 2)
    parts = stratified_folds(labels, 5)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(labels)))
    for part in parts:
        assert np.sum(labels[part] == 0) >= 1


def test_class_folder_cells_reads_lab_names_and_skips_other_folders(tmp_path):
    for name in ("neutrophil", "Lymphocytes", "Band_Neutrophils", "junk"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.jpg").write_bytes(b"x")
    paths, labels, skipped = class_folder_cells(tmp_path)
    assert labels == ["neutrophil", "lymphocyte", "neutrophil"] and skipped == ["junk"]
    assert set(labels) <= set(CLASS_NAMES)
