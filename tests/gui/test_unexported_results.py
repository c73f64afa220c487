"""Results live only in memory: opening something new asks before discarding unexported ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from hemoapp.gui import locations
from hemoapp.gui.controller import JobState
from hemotest.qt import drop_paths, run_folder

N_CELLS = 16  # cell_folder: 16 cells + one broken file (not a classified result)
DISCARD = QMessageBox.StandardButton.Discard
CANCEL = QMessageBox.StandardButton.Cancel


class _ChooseFolder:
    """A fake ``QFileDialog.getExistingDirectory`` that picks ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, *_args, **_kwargs) -> str:
        return str(self.folder)


@pytest.fixture()
def classified(qtbot, make_window, fake_classifier, cell_folder, other_folder, monkeypatch):
    """A window showing ``cell_folder``'s results; File > Open Folder picks ``other_folder``."""
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(_ChooseFolder(other_folder)))
    return window


def test_cancel_keeps_the_rows_and_starts_nothing(qtbot, classified, cell_folder, answer_questions):
    window = classified
    answer = answer_questions(CANCEL)
    before = window.results_model.predictions()
    window.actions.open_folder.trigger()
    assert len(answer.questions) == 1 and answer.questions[0].startswith(f"Discard {N_CELLS} unexported results?")
    assert "cancelled" not in answer.questions[0]  # nothing is running
    assert window.results_model.predictions() == before
    assert not window.controller.is_running() and window.controller.active_workers() == 0
    assert window.settings.recent_folders() == [str(cell_folder)]  # a declined open is not "recent"
    assert "results are kept" in window.statusBar().currentMessage()


def test_discard_starts_the_new_job(qtbot, classified, other_folder, answer_questions):
    window = classified
    answer = answer_questions(DISCARD)
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        window.actions.open_folder.trigger()
    assert len(answer.questions) == 1
    assert [p.record.path.parent for p in window.results_model.predictions()] == [other_folder] * 8


def test_no_question_after_a_results_export(qtbot, classified, other_folder, tmp_path):
    window = classified
    assert window.export_results(tmp_path / "r.csv") is not None
    # no_unexpected_questions (conftest) fails the test if a question comes
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        window.actions.open_folder.trigger()
    assert window.results_model.rowCount() == 8
    assert window.session.unexported_count() == 8  # the new rows are in no CSV yet


def test_a_summary_export_alone_does_not_count(qtbot, classified, tmp_path, answer_questions):
    window = classified
    assert window.export_summary(tmp_path / "s.csv") is not None
    answer = answer_questions(CANCEL)
    window.actions.open_folder.trigger()
    assert len(answer.questions) == 1
    assert window.results_model.rowCount() == N_CELLS + 1


def test_running_job_question_says_it_will_be_cancelled(
    qtbot, make_window, fake_classifier, cell_folder, other_folder, monkeypatch, answer_questions
):
    window = make_window(fake_classifier(delay_s=0.2), batch_size=2)
    window.open_folder(cell_folder)
    qtbot.waitUntil(lambda: window.results_model.rowCount() >= 2, timeout=10_000)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(_ChooseFolder(other_folder)))
    answer = answer_questions(CANCEL)
    window.actions.open_folder.trigger()
    assert len(answer.questions) == 1 and "will be cancelled" in answer.questions[0]
    assert window.controller.is_running()  # declined: the job goes on
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000) as blocker:
        pass
    assert blocker.args[0] == JobState.COMPLETED
    assert window.results_model.rowCount() == N_CELLS + 1


def test_every_user_open_asks(qtbot, classified, cell_folder, monkeypatch, answer_questions):
    """Open Images, Open Samples, recent folders (menu and start screen) and drops all ask."""
    window = classified
    answer = answer_questions(CANCEL)
    images = sorted(cell_folder.glob("basophil/*.jpg"))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(_ChooseFiles(images)))
    monkeypatch.setenv(locations.SAMPLES_ENV, str(cell_folder))
    window.actions.open_files.trigger()
    window.actions.open_samples.trigger()
    window.start_screen.samples_button.click()
    window.recent_menu.actions()[0].trigger()
    window.start_screen.recent_folder_requested.emit(str(cell_folder))
    drop_paths(window, images)
    qtbot.waitUntil(lambda: len(answer.questions) == 6, timeout=2000)  # the drop asks from the event loop
    qtbot.wait(50)
    assert len(answer.questions) == 6
    assert window.results_model.rowCount() == N_CELLS + 1 and not window.controller.is_running()


def test_programmatic_opens_never_ask(qtbot, classified, other_folder):
    window = classified
    run_folder(qtbot, window, other_folder)  # the command line and tests: no dialog
    assert window.results_model.rowCount() == 8


def test_invalid_sources_keep_the_rows(qtbot, classified, tmp_path, monkeypatch):
    window = classified
    before = window.results_model.predictions()
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    monkeypatch.delenv(locations.SAMPLES_ENV, raising=False)
    monkeypatch.setattr(locations, "_REPO_ROOT", tmp_path / "checkout")
    assert not window.open_folder(tmp_path / "gone")
    assert not window.open_files([])
    assert not window.open_files([tmp_path / "gone.jpg", tmp_path / "gone"])
    assert not window.open_files([notes])
    assert not window.open_samples(confirm=True)
    assert window.results_model.predictions() == before
    assert not window.controller.is_running()


class _ChooseFiles:
    """A fake ``QFileDialog.getOpenFileNames`` that picks ``files``."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files

    def __call__(self, *_args, **_kwargs) -> tuple[list[str], str]:
        return [str(f) for f in self.files], ""


def test_the_apps_window_asks_before_closing_with_unexported_results(
    qtbot, make_window, fake_classifier, cell_folder, answer_questions, tmp_path
):
    window = make_window(fake_classifier())
    window.confirm_close = True  # as the app's own window (hemoapp.gui.app.run_gui)
    run_folder(qtbot, window, cell_folder)
    answer = answer_questions(CANCEL)
    assert not window.close()  # the close is refused and the rows stay
    assert window.isVisible() and window.results_model.rowCount() == N_CELLS + 1
    assert answer.questions and f"Discard {N_CELLS} unexported results?" in answer.questions[0]
    window.export_results(tmp_path / "kept.csv")
    answer.questions.clear()
    assert window.close()  # exported: closes without asking
    assert answer.questions == []
