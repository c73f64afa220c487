"""``hemoapp --self-test``: its checks, its two modes, its report and exit status."""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hemoapp import selftest
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.pipeline import Prediction
from hemoapp.core.scan import ImageRecord
from hemoapp.gui import startup_probe

REPO_ROOT = Path(__file__).resolve().parents[2]


def _uniform() -> list[float]:
    return [1.0 / len(CLASS_NAMES)] * len(CLASS_NAMES)


@pytest.mark.parametrize(
    ("vector", "fragment"),
    [
        (None, "no probabilities"),
        ([0.5, 0.5], "shape"),
        ([math.nan] + [0.0] * 7, "NaN"),
        ([-0.1, 1.1] + [0.0] * 6, "outside [0, 1]"),
        ([0.2] * 8, "sum to"),
    ],
)
def test_probability_problem_names_the_defect(vector, fragment):
    assert fragment in selftest.probability_problem(vector)


def test_probability_problem_accepts_a_distribution():
    assert selftest.probability_problem(_uniform()) is None
    assert selftest.probability_problem([1.0] + [0.0] * 7) is None


@pytest.mark.parametrize(("n", "fraction", "needed"), [(16, 15 / 16, 15), (64, 15 / 16, 60), (16, 1.0, 16), (0, 0.9, 0)])
def test_required_correct_is_all_but_one_of_sixteen_by_default(n, fraction, needed):
    assert selftest.required_correct(n, fraction) == needed


def test_expected_class_is_the_first_folder():
    assert selftest.expected_class("basophil/BA_1.jpg") == "basophil"
    assert selftest.expected_class("BA_1.jpg") == ""


def test_judge_marks_right_wrong_and_broken_predictions():
    record = ImageRecord(Path("x/ig/a.jpg"), "ig/a.jpg", 10)
    probabilities = [0.0] * 8
    probabilities[CLASS_NAMES.index("ig")] = 1.0
    right = selftest.judge(Prediction.from_probabilities(record, probabilities), "ig")
    assert right.valid and right.correct
    wrong = selftest.judge(Prediction.from_probabilities(record, probabilities), "platelet")
    assert wrong.valid and not wrong.correct
    broken = selftest.judge(Prediction.failed(record, "corrupt", "damaged"), "ig")
    assert not broken.valid and not broken.correct and "corrupt" in broken.problem


def test_default_samples_dir_in_a_bundle_and_in_a_checkout(monkeypatch, tmp_path):
    assert selftest.default_samples_dir() == REPO_ROOT.parent / "shared" / "datasets" / "pbc8-originals"
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert selftest.default_samples_dir() == tmp_path / "samples"


def test_collect_samples_refuses_missing_empty_and_misplaced(tmp_path):
    with pytest.raises(selftest.SelfTestError, match="no sample images"):
        selftest.collect_samples(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(selftest.SelfTestError, match="holds no images"):
        selftest.collect_samples(tmp_path / "empty")
    stray = tmp_path / "stray"
    (stray / "monocytes").mkdir(parents=True)
    (stray / "monocytes" / "a.jpg").write_bytes(b"x")
    with pytest.raises(selftest.SelfTestError, match="not in a folder named after a class"):
        selftest.collect_samples(stray)


def test_plumbing_only_with_a_card_without_metrics(tiny_model, samples):
    report = selftest.run_self_test(tiny_model.model_path, samples, threads=1)
    assert report.mode == selftest.MODE_PLUMBING
    assert report.passed, report.failures
    assert report.n_images == len(CLASS_NAMES) == report.n_valid
    text = selftest.format_report(report)
    assert "PLUMBING-ONLY" in text and "accuracy is NOT checked" in text
    assert report.model_sha256 in text and "SELF-TEST PASSED (plumbing-only)" in text
    assert all(f"{name}/" in text for name in CLASS_NAMES)


def test_require_accuracy_rejects_a_test_model(tiny_model, samples):
    report = selftest.run_self_test(tiny_model.model_path, samples, require_accuracy=True, threads=1)
    assert not report.passed
    assert any("no metrics" in reason for reason in report.failures)


def _model_with_metrics(tiny_model, folder: Path) -> Path:
    """A copy of the tiny model whose card claims metrics (so the self-test runs in accuracy mode)."""
    folder.mkdir()
    model = folder / tiny_model.model_path.name
    shutil.copyfile(tiny_model.model_path, model)
    card = json.loads(tiny_model.card_path.read_text(encoding="utf-8"))
    card["metrics"] = {"test": {"accuracy": 0.99}}
    (folder / tiny_model.card_path.name).write_text(json.dumps(card), encoding="utf-8")
    return model


def test_accuracy_mode_counts_folder_matches(tiny_model, samples, tmp_path):
    model = _model_with_metrics(tiny_model, tmp_path / "release")
    strict = selftest.run_self_test(model, samples, threads=1)
    assert strict.mode == selftest.MODE_ACCURACY
    # An untrained net cannot name 8 classes right; the verdict must say so.
    assert not strict.passed
    assert any(f"{strict.n_correct} of {strict.n_images}" in reason for reason in strict.failures)
    assert "MISS" in selftest.format_report(strict)
    lenient = selftest.run_self_test(model, samples, min_accuracy=0.0, threads=1)
    assert lenient.passed and "SELF-TEST PASSED (accuracy)" in selftest.format_report(lenient)


def test_a_card_for_another_file_name_fails(tiny_model, samples, tmp_path):
    folder = tmp_path / "renamed"
    folder.mkdir()
    shutil.copyfile(tiny_model.model_path, folder / "other.tflite")
    shutil.copyfile(tiny_model.card_path, folder / "other.card.json")
    report = selftest.run_self_test(folder / "other.tflite", samples, threads=1)
    assert not report.passed
    assert any("describes 'tiny-test.tflite'" in reason for reason in report.failures)


def test_main_exit_status_and_report_file(tiny_model, samples, tmp_path):
    out = io.StringIO()
    report_file = tmp_path / "report.txt"
    args = ["--model", str(tiny_model.model_path), "--samples", str(samples), "--threads", "1"]
    assert selftest.main([*args, "--report", str(report_file)], stream=out) == 0
    assert out.getvalue().rstrip().endswith("SELF-TEST PASSED (plumbing-only)")
    assert report_file.read_text(encoding="utf-8") == out.getvalue()
    assert selftest.main([*args, "--require-accuracy"], stream=io.StringIO()) == 1


def test_main_fails_clearly_for_a_changed_model(tiny_model, samples, tmp_path):
    folder = tmp_path / "tampered"
    folder.mkdir()
    model = folder / tiny_model.model_path.name
    model.write_bytes(tiny_model.model_path.read_bytes() + b"\0")
    shutil.copyfile(tiny_model.card_path, folder / tiny_model.card_path.name)
    out = io.StringIO()
    assert selftest.main(["--model", str(model), "--samples", str(samples)], stream=out) == 1
    assert "does not match its card" in out.getvalue() and "SELF-TEST FAILED" in out.getvalue()


def test_main_fails_without_samples(tiny_model, tmp_path):
    out = io.StringIO()
    assert selftest.main(["--model", str(tiny_model.model_path), "--samples", str(tmp_path / "none")], stream=out) == 1
    assert "no sample images" in out.getvalue()


def test_min_accuracy_must_be_a_fraction():
    with pytest.raises(SystemExit) as exit_info:
        selftest.main(["--min-accuracy", "15"], stream=io.StringIO())
    assert exit_info.value.code == 2


def test_entry_point_dispatches_and_never_imports_the_gui(tiny_model, samples):
    """``python -m hemoapp --self-test`` runs headless: neither PySide6 nor hemoapp.gui is imported."""
    code = (
        "import sys\n"
        "from hemoapp.__main__ import main\n"
        f"status = main(['--self-test', '--model', {str(tiny_model.model_path)!r}, '--samples', {str(samples)!r}])\n"
        "loaded = [m for m in sys.modules if m.startswith(('PySide6', 'hemoapp.gui'))]\n"
        "print('GUI-MODULES', loaded)\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SELF-TEST PASSED" in done.stdout
    assert "GUI-MODULES []" in done.stdout


def test_report_header_names_the_model():
    """The report's header names model, version, sha256 and file (from a hand-made report)."""
    report = selftest.SelfTestReport(
        model_name="m",
        model_version="1.2",
        model_sha256="ab" * 32,
        model_path=Path("/x/m.tflite"),
        mode=selftest.MODE_ACCURACY,
        samples_dir=Path("/s"),
        min_accuracy=15 / 16,
    )
    text = selftest.format_report(report)
    assert "m 1.2" in text and "ab" * 32 in text and "m.card.json" in text
    assert "0/0 correct" in text


def test_startup_probe_passes_the_pinned_qt_binding(qtbot):
    assert startup_probe.binding_refcount_problem() is None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12: the bug cannot crash")
def test_startup_probe_catches_a_binding_that_loses_references(qtbot, monkeypatch):
    import ctypes

    from PySide6 import QtWidgets

    calls = 100  # far below None's reference count, so the simulated loss is safe to undo

    class LeakyLabel:
        """Loses a reference to None on each call, as PySide6 6.12.0 did on Python 3.11."""

        def setText(self, text):
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))

    monkeypatch.setattr(QtWidgets, "QLabel", LeakyLabel)
    try:
        problem = startup_probe.binding_refcount_problem(calls=calls)
    finally:
        for _ in range(calls):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    assert problem is not None and "loses a reference to None" in problem
