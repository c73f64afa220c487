"""Model > Adapt to This Lab…: reviews made in the window become a lab profile; switch, classify, export, remove."""

from __future__ import annotations

import csv
import hashlib

import pytest

from hemoapp.core.classifier import load_default_classifier
from hemoapp.core.lab_profile import ProfileClassifier, load_profile
from hemoapp.core.profile_fit import FitSettings
from hemoapp.gui.dialogs import model_card_html
from hemoapp.gui.profile_dialogs import AdaptDialog, ProfilesDialog
from hemoapp.gui.table_model import Role
from hemotest.lab_cells import make_lab_folder
from hemotest.qt import run_folder


@pytest.fixture(scope="module")
def base():
    try:
        return load_default_classifier(num_threads=1)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"the shipped model is not available: {exc}")


@pytest.fixture()
def reviewed_window(qtbot, make_window, base, tmp_path):
    """A window on another lab's 18 cells (bccd-wbc), every one reviewed as its folder's class."""
    lab = make_lab_folder(tmp_path / "lab", per_class=6)
    window = make_window(base)
    window.profiles.fit_settings = FitSettings(views=2, steps=150)  # the app's fit, faster
    assert run_folder(qtbot, window, lab) == "completed"
    for row in range(window.proxy.rowCount()):
        window.results_view.select_proxy_row(row)
        prediction = window.proxy.index(row, 0).data(Role.PREDICTION)
        truth = prediction.record.relpath.split("/")[0]
        assert window.review_selected(truth)
    return window, lab


def test_adapt_switch_classify_export_and_remove(qtbot, reviewed_window, base, tmp_path):
    window, lab = reviewed_window
    base_sha = hashlib.sha256(base.model_path.read_bytes()).hexdigest()
    assert window.profile_menus.adapt.isEnabled()
    assert "Export Reviewed Cells" in window.profile_menus.export_reviewed.text().replace("&", "")
    dialog = AdaptDialog(window.profiles, window.reviewer(), window)
    assert "18 (" in dialog.cells_label.text()
    dialog.name_edit.setText("Lab C")
    dialog.show()  # open before the result arrives, as a person sees it
    qtbot.waitExposed(dialog)
    with qtbot.waitSignal(window.profiles.fit_finished, timeout=60_000) as blocker:
        dialog.fit()
        assert dialog.cancel_button.isEnabled()
    profile, error = blocker.args
    assert error == "" and profile is not None
    # The cross-validated accuracy and its interval are shown before anyone switches.
    assert "held-out reviewed cells" in dialog.result_label.text() and "95% interval" in dialog.result_label.text()
    # Shown whole: the dialog grew to the new sentences (a narrow one once cut them off at the bottom).
    qtbot.wait(50)
    label = dialog.result_label
    assert label.height() >= label.heightForWidth(label.width())
    assert window.classifier is base and dialog.use_button.isEnabled()
    # Switching classifies the shown folder again, so the rows are always the named model's.
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        dialog.save_and_use()

    # The window says which profile classifies.
    assert isinstance(window.classifier, ProfileClassifier)
    assert "lab profile Lab C" in window.model_label.text()
    assert len(window.results_model.reviews()) == 18  # the reviews came back to the same cells
    card = model_card_html(window.classifier.info)  # Help > About / Model Card: the profile's card
    assert profile.sha256 in card and base.info.sha256 in card and "cross_validation" in card.replace(" ", "_").lower()
    out = window.export_results(tmp_path / "r.csv")
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert {r["model_name"] for r in rows} == {"hemolens-lite0+lab:Lab C"}
    assert {r["model_sha256"] for r in rows} == {profile.sha256}

    # Choose, rename, export from the profiles dialog.
    profiles = ProfilesDialog(window.profiles, parent=window)
    assert profiles.list.count() == 2 and "(in use)" in profiles.list.item(1).text()
    profiles.select(window.profiles.current())
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        profiles.rename_selected("Lab C, haematology")  # the profile in use: the rows carry its new name
    exported = profiles.export_selected(tmp_path / "exported.hlprofile.json")
    copy = load_profile(exported)
    assert copy.name == "Lab C, haematology" and copy.sha256 == profile.sha256
    assert "Lab C, haematology" in window.model_label.text()

    # Back to the base model, then remove the profile: the base model is unchanged.
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        profiles.select(None)
        profiles.use_selected()
    assert window.classifier is base and "lab profile" not in window.model_label.text()
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        profiles.select(window.profiles.profiles()[0])
        profiles.use_selected()
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        profiles.remove_selected()  # the profile in use: back to the base model, the folder classified again
    assert window.profiles.profiles() == [] and window.classifier is base
    assert profiles.list.count() == 1
    assert hashlib.sha256(base.model_path.read_bytes()).hexdigest() == base_sha == base.info.sha256

    # A profile exported elsewhere installs again.
    assert profiles.install_file(exported) is not None and len(window.profiles.profiles()) == 1


def test_export_reviewed_cells_writes_class_folders(reviewed_window, tmp_path):
    window, lab = reviewed_window
    written = window.profiles.export_reviewed(tmp_path / "export")
    assert len(written) == 18
    assert sorted(p.parent.name for p in written) == sorted(p.parent.name for p in lab.rglob("*.jpg"))
    assert all((lab / p.parent.name / p.name).read_bytes() == p.read_bytes() for p in written)


def test_cancel_the_fit(qtbot, reviewed_window):
    window, _ = reviewed_window
    with qtbot.waitSignal(window.profiles.fit_finished, timeout=60_000) as blocker:
        assert window.profiles.start_fit("x", "t")
        window.profiles.cancel_fit()
    assert blocker.args == [None, ""] and window.profiles.profiles() == []


def test_no_model_change_while_a_batch_runs(qtbot, reviewed_window):
    window, lab = reviewed_window
    with qtbot.waitSignal(window.profiles.fit_finished, timeout=60_000) as blocker:
        window.profiles.start_fit("Lab D", "t")
    profile = blocker.args[0]
    window.profiles.keep(profile, use=False)
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        assert window.open_folder(lab)
        assert not window.profiles.use(profile)  # the running batch would be exported under the wrong name
    assert window.classifier is window.profiles.base
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        assert window.profiles.use(profile)
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        assert window.open_folder(lab)
        assert not window.profiles.remove(profile)  # in use by the running batch: kept
    assert window.profiles.profiles()[0].sha256 == profile.sha256
    assert window.profiles.remove(profile) and window.profiles.profiles() == []
    assert window.classifier is window.profiles.base
