"""The report's heatmaps: beside each flagged cell's picture, capped, and a plain note when there is no sidecar."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtGui import QImage

from hemoapp.core.pipeline import iter_predictions
from hemoapp.core.scan import scan_folder
from hemoapp.core.report import ReportContext, cell_lists, report_html
from hemoapp.core.summary import summarize
from hemoapp.gui.report_pdf import PICTURE_PIXELS, with_heatmaps, with_pictures, write_summary_report
from hemotest.shipped_models import copy_shipped_models

#: Above every confidence: every cell is flagged, so every cell is listed with a heatmap.
EVERY_CELL = 1.01


def _classify(models, folder):
    from hemoapp.core.classifier import Classifier

    classifier = Classifier(models / "hemolens-lite0.tflite", num_threads=1)
    records = scan_folder(folder).records
    predictions = [p for batch in iter_predictions(records, classifier, decode_workers=1) for p in batch.predictions]
    return classifier.info, predictions


@pytest.fixture()
def four_cells(tmp_path, cell_folder):
    folder = tmp_path / "four"
    folder.mkdir()
    for path in sorted(cell_folder.rglob("*.jpg"))[:5]:
        if path.name != "zz_broken.jpg":
            shutil.copyfile(path, folder / path.name)
    return folder


def test_each_flagged_cell_has_its_heatmap_beside_its_picture(qapp, repo_root, four_cells, tmp_path):
    info, predictions = _classify(repo_root / "models", four_cells)
    cells, pictures = with_pictures(cell_lists(predictions, EVERY_CELL))
    assert len(cells.flagged) == len(predictions) >= 3
    cells = with_heatmaps(cells, info, pictures)
    for cell in cells.flagged:
        heatmap, plain = pictures[cell.heatmap], pictures[cell.picture]
        assert isinstance(heatmap, QImage) and max(heatmap.width(), heatmap.height()) <= PICTURE_PIXELS
        assert heatmap.size() == plain.size() and heatmap != plain  # the same picture, coloured
    assert cells.heatmaps_note.startswith("Beside each picture, where the model looked")
    html = report_html(summarize(predictions, EVERY_CELL), info, ReportContext(source=str(four_cells)), cells)
    assert "Where the model looked" in html
    assert all(f"src='{cell.heatmap}'" in html for cell in cells.flagged)

    capped = with_heatmaps(with_pictures(cell_lists(predictions, EVERY_CELL))[0], info, {}, limit=2)
    assert [cell.heatmap is not None for cell in capped.flagged] == [True, True] + [False] * (len(predictions) - 2)
    assert capped.flagged[2].heatmap_note == "heatmaps of the first 2 flagged cells only"
    assert "first 2 flagged cells only" in capped.heatmaps_note


def test_a_changed_file_gets_no_heatmap_and_says_why(qapp, repo_root, four_cells):
    info, predictions = _classify(repo_root / "models", four_cells)
    cells, pictures = with_pictures(cell_lists(predictions, EVERY_CELL))
    changed = cells.flagged[0].prediction.record.path
    changed.write_bytes(changed.read_bytes() + b"\0")
    cells = with_heatmaps(cells, info, pictures)
    assert cells.flagged[0].heatmap is None and cells.flagged[0].heatmap_note
    assert cells.flagged[1].heatmap is not None


@pytest.mark.parametrize("broken", ["another model", "missing"])
def test_without_a_usable_sidecar_the_report_says_so_and_is_still_written(qapp, repo_root, four_cells, tmp_path,
                                                                         broken):
    models = copy_shipped_models(repo_root, tmp_path / "models", sidecar=broken).parent
    info, predictions = _classify(models, four_cells)
    cells, pictures = with_pictures(cell_lists(predictions, EVERY_CELL))
    cells = with_heatmaps(cells, info, pictures)
    assert all(cell.heatmap is None for cell in cells.flagged)
    expected = "another model" if broken == "another model" else "no heatmap sidecar"
    assert cells.heatmaps_note.startswith("No heatmaps:") and expected in cells.heatmaps_note
    summary = summarize(predictions, EVERY_CELL)
    html = report_html(summary, info, ReportContext(source=str(four_cells)), cells)
    assert "No heatmaps:" in html and "Where the model looked" not in html  # no empty column
    pdf = write_summary_report(tmp_path / "report.pdf", summary, info, ReportContext(source=str(four_cells)),
                               predictions)
    assert pdf.read_bytes().startswith(b"%PDF-")
