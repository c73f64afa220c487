"""A batch far less sure than the model's validation images is said above the results, in the CSV and the report."""

from __future__ import annotations

import dataclasses

from hemoapp.gui.controllers import export as export_module
from hemoapp.gui.widgets.results_view import Tab
from hemotest.predictions import rows_of
from hemotest.qt import run_folder


def classifier_validated_with(fake_classifier, validation_fraction: float):
    """A fake classifier whose card says that ``validation_fraction`` of its validation images were unsure.

    The fake answers below its card's 0.9 threshold for most real cells (confidence 0.5-0.99 from the pixels).
    """
    classifier = fake_classifier()
    card = dataclasses.replace(
        classifier.info.card,
        metrics={"val": {"review": {"threshold": 0.9, "flagged_fraction": validation_fraction}}},
    )
    classifier.info = dataclasses.replace(classifier.info, card=card)
    return classifier


def test_an_unusual_batch_is_said_above_every_tab_and_in_the_exports(
    qtbot, make_window, fake_classifier, cell_folder, tmp_path, monkeypatch
):
    window = make_window(classifier_validated_with(fake_classifier, 0.05))
    run_folder(qtbot, window, cell_folder)
    share = window.current_unsure_share()
    assert share.classified == 16 and share.unsure > 8 and share.unusual
    banner = window.results_view.batch_warning
    assert banner.isVisible() and banner.text() == share.warning()
    for tab in (Tab.GALLERY, Tab.SUMMARY):  # above the tabs, so seen whichever is open
        window.results_view.tabs.setCurrentIndex(tab)
        assert banner.isVisible()

    rows = rows_of(window.export_summary(tmp_path / "summary.csv"))
    assert {r["label"]: r["value"] for r in rows}["Unlike the validation images (check the cells)"] == "yes"

    contexts = []
    monkeypatch.setattr(export_module, "write_summary_report",
                        lambda path, summary, info, context, **_: contexts.append(context) or path)
    window.export_report(tmp_path / "report.pdf")
    assert contexts[0].unsure_share == share

    # The threshold set in the window does not change the comparison: it is made at the card's.
    window.results_view.filter_bar.set_review_threshold(0.5)
    window.summary.refresh()
    assert window.current_unsure_share() == share and banner.isVisible()

    # A new folder starts without it (here an empty one, which has no cells to hold against anything).
    empty = tmp_path / "empty"
    empty.mkdir()
    run_folder(qtbot, window, empty)
    assert not banner.isVisible() and banner.text() == ""


def test_a_batch_like_the_validation_images_shows_no_warning(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(classifier_validated_with(fake_classifier, 0.6))
    run_folder(qtbot, window, cell_folder)
    assert window.current_unsure_share().unusual is False
    assert not window.results_view.batch_warning.isVisible()


def test_a_model_without_validation_figures_shows_no_warning(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())  # its card has no validation review figures
    run_folder(qtbot, window, cell_folder)
    assert window.current_unsure_share() is None
    assert not window.results_view.batch_warning.isVisible()
