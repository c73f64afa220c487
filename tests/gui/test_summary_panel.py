"""The summary tab's differential shows each class's counting interval beside its percentage."""

from __future__ import annotations

from hemoapp.core.contract import WHITE_CELL_CLASSES
from hemoapp.core.summary import INTERVAL_NOTE, summarize
from hemoapp.gui.widgets.summary_panel import SummaryPanel
from hemotest.predictions import make


def _column(panel: SummaryPanel, column: int) -> list[str]:
    table = panel.differential_table
    return [table.item(row, column).text() for row in range(table.rowCount())]


def test_each_white_cell_class_has_its_95_percent_interval(qtbot):
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    panel.set_summary(summarize(make({"monocyte": 5, "neutrophil": 95, "platelet": 12}), 0.9))
    table = panel.differential_table
    assert table.horizontalHeaderItem(2).text() == "95% interval"
    assert table.horizontalHeaderItem(2).toolTip() == INTERVAL_NOTE
    intervals = dict(zip(WHITE_CELL_CLASSES, _column(panel, 2)))
    # Exact limits for 5 and 95 of 100 white cells (1.64-11.28%, 88.72-98.36%), rounded outwards.
    assert intervals["monocyte"] == "1.6–11.3%"
    assert intervals["neutrophil"] == "88.7–98.4%"
    assert intervals["basophil"] == "0.0–3.7%"
    assert _column(panel, 2)[-1] == ""  # the white-cell total has no interval
    # 0 erythroblasts per 100 white cells: exact upper limit of 0 of 100, 3.62%, as a ratio 3.758.
    assert panel.erythroblast_label.text() == "0.0  (0 erythroblasts)\n95% interval 0.0–3.8"
    assert panel.interval_caption.isVisible() and "not the model's errors" in panel.interval_caption.text()


def test_no_white_cells_and_no_results_show_no_interval(qtbot):
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    panel.set_summary(summarize(make({"platelet": 4}), 0.9))
    assert _column(panel, 2)[:-1] == ["—"] * len(WHITE_CELL_CLASSES)
    panel.set_summary(None)
    assert _column(panel, 2) == ["—"] * (len(WHITE_CELL_CLASSES) + 1)
