"""Start-up, no model, sample images, drag and drop, recent folders, settings, dialogs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication, QMessageBox

from hemoapp.gui import locations
from hemoapp.gui.app import ErrorHook, app_icon, load_classifier
from hemoapp.gui.dialogs import ModelCardDialog, model_card_html
from hemotest.qt import drop_paths


def test_no_model_starts_and_disables_classification(qtbot, make_window, cell_folder):
    reason = "No model is installed. Put a model and its card in models/."
    window = make_window(None, model_error=reason)
    assert window.stack.currentWidget() is window.start_screen
    assert reason in window.start_screen.model_label.text()
    assert "disabled" in window.start_screen.model_label.text()
    assert not window.start_screen.open_folder_button.isEnabled()
    assert not window.start_screen.samples_button.isEnabled()
    for action in (window.actions.open_folder, window.actions.open_samples, window.actions.export_results):
        assert not action.isEnabled()
    assert window.model_label.text() == "No model"
    assert not window.open_folder(cell_folder)
    assert window.results_model.rowCount() == 0


def test_load_classifier_reports_missing_model(monkeypatch, tmp_path):
    monkeypatch.setenv("HEMOLENS_MODEL", str(tmp_path / "missing.tflite"))
    classifier, error = load_classifier()
    assert classifier is None and "missing.tflite" in error


def test_sample_images_none_installed_says_so(qtbot, make_window, fake_classifier, monkeypatch, tmp_path):
    monkeypatch.delenv(locations.SAMPLES_ENV, raising=False)
    monkeypatch.setattr(locations, "_REPO_ROOT", tmp_path / "checkout")
    window = make_window(fake_classifier())
    assert not window.open_samples()
    text = window.start_screen.samples_label.text()
    assert "No sample images are installed" in text and "pbc8-originals" in text
    assert window.start_screen.samples_label.isVisibleTo(window.start_screen)
    assert "No sample images" in window.statusBar().currentMessage()


def test_sample_images_from_bundle_and_checkout(monkeypatch, tmp_path, pbc8_originals):
    monkeypatch.delenv(locations.SAMPLES_ENV, raising=False)
    assert locations.find_sample_images() == locations._REPO_ROOT.parent / "shared" / "datasets" / "pbc8-originals"
    bundle = tmp_path / "bundle"
    (bundle / "samples").mkdir(parents=True)
    (bundle / "samples" / "cell.png").write_bytes(b"x")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert locations.find_sample_images() == bundle / "samples"
    assert locations.resource_path("hemolens.svg") == bundle / "resources" / "hemolens.svg"


def test_open_sample_images_classifies_them(qtbot, make_window, fake_classifier, monkeypatch, cell_folder):
    monkeypatch.setenv(locations.SAMPLES_ENV, str(cell_folder))
    window = make_window(fake_classifier())
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        window.start_screen.samples_button.click()
    assert window.results_model.rowCount() == 17


def test_drop_folder_or_images(qtbot, make_window, fake_classifier, cell_folder, answer_questions):
    window = make_window(fake_classifier())
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        drop_paths(window, [cell_folder])
    assert window.results_model.rowCount() == 17
    assert window.settings.recent_folders()[0] == str(cell_folder)
    images = sorted(cell_folder.glob("basophil/*.jpg"))
    answer = answer_questions(QMessageBox.StandardButton.Discard)
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        drop_paths(window, [*images, cell_folder / "notes.txt"])
    assert window.results_model.rowCount() == len(images)
    assert answer.questions == [
        "Discard 16 unexported results?\nTo keep them, choose Cancel and use File > Export results first."
    ]


def test_recent_folders_menu_and_start_screen(
    qtbot, make_window, fake_classifier, cell_folder, other_folder, answer_questions
):
    answer = answer_questions(QMessageBox.StandardButton.Discard)
    window = make_window(fake_classifier())
    for folder in (cell_folder, other_folder):
        with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
            window.open_folder(folder)
    texts = [a.text() for a in window.recent_menu.actions() if a.data()]
    assert texts == [f"&1 {other_folder}", f"&2 {cell_folder}"]
    assert window.start_screen.recent_list.item(0).text() == str(other_folder)
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        window.recent_menu.actions()[1].trigger()
    assert window.results_model.rowCount() == 17
    assert len(answer.questions) == 1  # the menu asks; open_folder() (command line, tests) does not
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        window.start_screen.recent_folder_requested.emit(str(other_folder))
    assert window.results_model.rowCount() == 8 and len(answer.questions) == 2


def test_window_state_is_remembered(qtbot, make_window, fake_classifier, isolated_settings):
    window = make_window(fake_classifier())
    window.resize(797, 560)
    window.results_view.tabs.setCurrentIndex(2)
    window.close()
    again = make_window(fake_classifier())
    assert (again.width(), again.height()) == (797, 560)
    assert again.results_view.tabs.currentIndex() == 2
    assert isolated_settings.file_name().endswith("settings.ini")


def test_model_card_dialog_shows_card(qtbot, make_window, fake_classifier):
    window = make_window(fake_classifier())
    window.actions.model_card.trigger()
    dialog = window._dialog
    assert isinstance(dialog, ModelCardDialog) and dialog.isVisible()
    text = dialog.browser.toPlainText()
    for expected in ("fake-model", "9.9.9-test", "Training data", "Metrics", "Fake et al. (2025)", "CC0", "ab" * 32):
        assert expected in text
    # The training record: nested values, and one numbered block per session rather than dict reprs.
    for expected in (r"Recipe\s+Seed\s+4321", r"Sessions 1\s+Code\s+c0ffee\s+Software\s+Keras\s+0\.0-fake",
                     r"Sessions 2\s+Code\s+c0ffee\+changes"):
        assert re.search(expected, text), expected
    assert "{" not in text
    # Empty parts (a card from before the record has no sessions) read as a dash, not an empty heading.
    info = fake_classifier().info
    info.card.training = {"recipe": {"extra": {}}, "sessions": []}
    html_text = model_card_html(info)
    assert "Extra</td><td>—</td>" in html_text and "<td>Sessions</td><td>—</td>" in html_text
    dialog.close()
    assert "No model is loaded" in model_card_html(None)


def test_shortcuts_and_tooltips_on_main_actions(qtbot, make_window, fake_classifier):
    window = make_window(fake_classifier())
    a = window.actions
    assert a.open_folder.shortcut().toString() == "Ctrl+O"
    assert a.export_results.shortcut().toString() == "Ctrl+E"
    actions = [action for value in vars(a).values() for action in (value if isinstance(value, list) else [value])]
    for action in actions:
        assert action.toolTip() and not action.shortcut().isEmpty(), action.text()
    keys = [key.toString() for action in actions for key in action.shortcuts()]
    assert len(keys) == len(set(keys)), "two actions share a shortcut"
    # Reviewing takes plain keys, 1-8 in class order, which must not fire while typing in a filter box.
    assert [action.shortcut().toString() for action in a.review_as] == [str(n) for n in range(1, 9)]
    for action in a.review_actions():
        assert action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut, action.text()
        assert action in window.results_view.table.actions() and action in window.results_view.gallery.actions()


def test_error_hook_shows_copyable_details(qtbot, monkeypatch, capsys):
    shown = []

    def fake_exec(box):
        shown.append((box.text(), box.detailedText()))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    hook = ErrorHook()
    try:
        raise ValueError("something odd")
    except ValueError as exc:
        hook(type(exc), exc, exc.__traceback__)
    assert shown and "ValueError: something odd" in shown[0][0]
    assert "Traceback" in shown[0][1]
    assert "something odd" in capsys.readouterr().err


def test_app_icon_and_application():
    assert not app_icon().isNull()
    assert QApplication.instance() is not None


def test_review_threshold_default_comes_from_card(qtbot, make_window, fake_classifier):
    classifier = fake_classifier()
    classifier.info.card.review_threshold = 0.75
    window = make_window(classifier)
    assert window.results_model.review_threshold == pytest.approx(0.75)
    assert window.results_view.filter_bar.review_threshold == pytest.approx(0.75)


def test_gui_does_not_import_training_or_tensorflow(repo_root):
    code = (
        "import sys; import hemoapp.gui.app, hemoapp.gui.main_window; "
        "bad = [m for m in ('tensorflow', 'keras', 'training') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_folder_given_relative_to_the_start_is_remembered_in_full(
    qtbot, make_window, fake_classifier, cell_folder, monkeypatch
):
    """``hemolens ../cells`` must not leave "../cells" in the recent list, which means another folder elsewhere."""
    monkeypatch.chdir(cell_folder.parent)
    window = make_window(fake_classifier())
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        assert window.open_files([cell_folder.name])  # as the command line passes it
    assert window.results_model.rowCount() == 17
    assert window.settings.recent_folders()[0] == str(cell_folder)
    assert window.settings.last_dir("open") == str(cell_folder)


def test_the_model_card_says_how_well_the_model_does_in_words(fake_classifier):
    info = fake_classifier().info
    review = {"threshold": 0.99, "n": 2563, "flagged": 341, "flagged_fraction": 0.13304721030042918, "errors": 20,
              "errors_flagged": 19, "unflagged_wrong": 1, "unflagged_accuracy": 0.9995}
    info.card.metrics = {"test": {"n": 2563, "accuracy": 0.9921966445571596, "macro_f1": 0.9918645249783854,
                                  "macro_auc_ovr": 0.9998720988720387, "ece": 0.009439503407041082,
                                  "review": review}}
    document = QTextDocument()
    document.setHtml(model_card_html(info))
    text = re.sub(r"\s+", " ", document.toPlainText())
    assert ("On the 2,563 test images, which the model never saw in training, it classified 99.22% right "
            "(20 wrong).") in text
    assert ("At the default review threshold of 99%, 13.3% of the cells were flagged for review, and 19 of the "
            "20 wrong ones were among them: 1 wrong cell was not flagged.") in text
    assert "Macro F1 0.992, macro AUC (one-vs-rest) 0.9999, calibration error (ECE) 0.94%." in text
    assert "hemolens validate FOLDER" in text  # how to check it on the lab's own cells
    assert text.index("How well it does") < text.index("Training data")
    # The card's own figures below use the same names, not its keys.
    assert "Macro F1 0.9919" in text and "Macro AUC (one-vs-rest) 0.9999" in text and "ECE 0.00944" in text
    assert "Macro f1" not in text and "auc ovr" not in text
    # Every wrong cell flagged, and a card without test figures.
    info.card.metrics["test"]["review"].update(errors_flagged=20, unflagged_wrong=0)
    document.setHtml(model_card_html(info))
    assert "and all 20 wrong ones were among them." in re.sub(r"\s+", " ", document.toPlainText())
    info.card.metrics = {"accuracy": 0.5}
    assert "How well it does" not in model_card_html(info)


def test_a_folder_given_through_its_parent_is_remembered_without_dot_dot(
    qtbot, make_window, fake_classifier, cell_folder, monkeypatch
):
    """``hemolens ../cells`` is listed as ``/home/lab/cells``, as the Open dialog would name it, not ``…/run/../cells``."""
    (cell_folder.parent / "run").mkdir()
    monkeypatch.chdir(cell_folder.parent / "run")
    window = make_window(fake_classifier())
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        assert window.open_files([f"../{cell_folder.name}"])
    assert window.settings.recent_folders()[0] == str(cell_folder)
    assert window.settings.last_dir("open") == str(cell_folder)  # where the Open dialog starts next time
