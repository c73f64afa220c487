"""The summary tab compares HemoLens with the classes its folders give, when they give any."""

from __future__ import annotations

from hemoapp.core.agreement import compare
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.report_agreement import agreement_text
from hemoapp.gui.filter_proxy import FlagFilter
from hemoapp.gui.widgets.agreement_box import AgreementBox
from hemoapp.gui.widgets.results_view import Tab
from hemotest.predictions import in_folder, predicted, rows_of
from hemotest.qt import run_folder


def test_a_folder_sorted_by_class_shows_its_confusion_matrix(qtbot, make_window, fake_classifier, cell_folder,
                                                              other_folder, tmp_path):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)  # 2 cells in each class folder, and a corrupt file beside them
    window.results_view.tabs.setCurrentIndex(Tab.SUMMARY)
    box = window.results_view.summary.agreement_box
    assert box.isVisible()
    # What the box shows is what the table's rows say, file by file, against their folders.
    rows = window.results_model.predictions()
    expected = compare(rows, window.results_model.review_threshold, reference_class)
    assert box.agreement() == expected and expected.compared == 16
    assert expected.unreadable == expected.without_reference == 0  # the corrupt file is in no class folder
    for i, reference in enumerate(CLASS_NAMES):
        for j, hemolens in enumerate(CLASS_NAMES):
            count = sum(1 for p in rows if p.ok and p.record.relpath.split("/")[0] == reference
                        and p.predicted == hemolens)
            assert box.table.item(i, j).text() == (str(count) if count else "·")
    agreed = sum(1 for p in rows if p.ok and p.record.relpath.split("/")[0] == p.predicted)
    assert f"of 16 cells ({agreed};" in box.headline_label.text()
    assert box.table.item(len(CLASS_NAMES), len(CLASS_NAMES)).text() == f"{100 * agreed / 16:.1f}%"  # one decimal, as every share

    # The flags follow the window's threshold, as the table's do.
    window.results_view.filter_bar.set_review_threshold(0.5)
    window.summary.refresh()
    assert box.agreement().flagged == 0

    # File > Export Agreement CSV (also the box's button) writes what the box shows.
    assert window.actions.export_agreement.isEnabled()
    written = window.export_agreement(tmp_path / "agreement.csv")
    rows = rows_of(written)
    matrix = {(r["reference_class"], r["hemolens_class"]): int(r["count"]) for r in rows if r["section"] == "matrix"}
    assert [matrix[(a, b)] for a in CLASS_NAMES for b in CLASS_NAMES] == [n for row in box.agreement().matrix for n in row]
    assert {r["review_threshold"] for r in rows} == {"0.5"}

    # A folder whose files sit in no class folder has nothing to compare: no box, nothing to export.
    run_folder(qtbot, window, other_folder)
    assert not box.isVisible() and box.agreement() is None
    assert not window.actions.export_agreement.isEnabled()
    assert window.export_agreement(tmp_path / "none.csv") is None and not (tmp_path / "none.csv").exists()
    assert "no classified cell is in a folder named by class" in window.statusBar().currentMessage()


def test_the_headline_and_the_sensitivity_column(qtbot):
    cells = [in_folder("Neutrophils", predicted("neutrophil", 0.95, i)) for i in range(3)]
    cells.append(in_folder("Neutrophils", predicted("ig", 0.5, 9)))
    box = AgreementBox()
    qtbot.addWidget(box)
    box.set_agreement(compare(cells, 0.9, reference_class))
    assert not box.isHidden()
    neutrophil = CLASS_NAMES.index("neutrophil")
    assert box.table.item(neutrophil, len(CLASS_NAMES)).text() == "75.0%"
    assert box.table.item(len(CLASS_NAMES), CLASS_NAMES.index("ig")).text() == "0.0%"
    assert box.table.item(len(CLASS_NAMES), CLASS_NAMES.index("basophil")).text() == "—"
    text = box.headline_label.text()
    assert "on 75.0% of 4 cells (3;" in text and "1 of the 1 disagreements are flagged" in text
    assert "0 of the 3 unflagged cells disagree" in text
    box.set_agreement(None)
    assert box.isHidden()


def test_the_headline_when_nothing_disagrees_and_when_everything_is_flagged():
    sure = [in_folder("platelets", predicted("platelet", 0.99, i)) for i in range(2)]
    assert "No cell disagrees." in agreement_text_of(sure, 0.9)
    unsure = [in_folder("platelets", predicted("ig", 0.5, 1)), in_folder("platelets", predicted("platelet", 0.5, 2))]
    assert "The disagreement is flagged for review, as is every cell." in agreement_text_of(unsure, 0.9)
    loose = sure + [predicted("monocyte", 0.99, 5)]
    assert "1 classified cell is in no class folder" in agreement_text_of(loose, 0.9)


def agreement_text_of(cells, threshold):
    return agreement_text(compare(cells, threshold, reference_class))


def test_show_disagreeing_cells_lists_exactly_the_disagreements(qtbot, make_window, fake_classifier, cell_folder,
                                                                 other_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    view, bar = window.results_view, window.results_view.filter_bar
    disagreements = [cell.relpath for cell in view.summary.agreement_box.agreement().disagreements]
    assert disagreements, "the fake classifier should disagree with some folders"
    bar.set_class_filter("basophil")  # a filter left on must not hide disagreements
    assert window.actions.show_disagreements.isEnabled()

    window.actions.show_disagreements.trigger()  # Review menu, Ctrl+Shift+D, or the agreement box's button
    assert view.tabs.currentIndex() == Tab.TABLE
    assert bar.flag_filter == FlagFilter.DISAGREES and bar.class_name is None
    model = window.results_model
    shown = [model.prediction_at(row).record.relpath for row in view._proxy.source_rows()]
    assert sorted(shown) == sorted(disagreements)
    assert view.current_prediction().record.relpath == shown[0]  # the first one is selected, its picture shown

    # Reviewing one as its folder's class keeps it listed: the comparison is the model's class, as the report's.
    window.review_selected(reference_class(shown[0]))
    assert [model.prediction_at(row).record.relpath for row in view._proxy.source_rows()] == shown

    # A folder with no class folders offers no such list, and the filter goes back to all cells.
    run_folder(qtbot, window, other_folder)
    assert not window.actions.show_disagreements.isEnabled()
    item = bar.flag_combo.model().item(bar.flag_combo.findData(FlagFilter.DISAGREES))
    assert not item.isEnabled() and bar.flag_filter == FlagFilter.ALL
    assert view._proxy.rowCount() == model.rowCount()


def test_not_assessable_cells_are_counted_apart_in_the_box(qtbot):
    from dataclasses import replace

    cells = [in_folder("neutrophil", predicted("neutrophil", index=i)) for i in range(3)]
    cells += [in_folder("neutrophil", replace(predicted("lymphocyte", index=9), assessable=False,
                                              assessable_reason="blurred (sharpness 2.0)"))]
    box = AgreementBox()
    qtbot.addWidget(box)
    box.set_agreement(compare(cells, 0.9, reference_class))
    text = box.headline_label.text()
    assert "on 100.0% of 3 assessable cells (3;" in text
    assert "1 of the 4 cells in class folders is not assessable and left out of the agreement (Neutrophil 1)" in text
    neutrophil = CLASS_NAMES.index("neutrophil")
    assert box.table.item(neutrophil, CLASS_NAMES.index("lymphocyte")).text() == "·"  # not in the matrix
    # Every cell in the folders not assessable: the box still says why nothing was compared.
    box.set_agreement(compare(cells[3:], 0.9, reference_class))
    assert box.agreement() is not None and "No cell was compared." in box.headline_label.text()
