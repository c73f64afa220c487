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


def test_not_assessable_cells_are_counted_apart_with_their_reasons(qtbot):
    from dataclasses import replace

    from hemoapp.gui.widgets.summary_panel import headline
    from hemotest.predictions import predicted

    panel = SummaryPanel()
    qtbot.addWidget(panel)
    cells = [predicted("neutrophil", index=i) for i in range(3)]
    cells += [replace(predicted("monocyte", index=9), assessable=False, assessable_reason="blurred (sharpness 2.0)")]
    summary = summarize(cells, 0.9)
    panel.set_summary(summary)
    assert panel.not_assessable_label.text() == "1 not assessable, left out of the counts and the differential (blurred 1)"
    assert "1 not assessable" in panel.headline_label.text()
    assert _column(panel, 0)[-1] == "3"  # 3 white cells: the monocyte is in no count
    panel.set_summary(summarize(cells[:3], 0.9))
    assert panel.not_assessable_label.text() == "0" and "not assessable" not in headline(summarize(cells[:3], 0.9))


def test_the_class_shares_are_labelled_as_of_the_counted_cells(qtbot):
    # 3 of 4 classified cells counted: 1 neutrophil of 3 counted is 33.3%, and the box says of what.
    from dataclasses import replace

    from hemoapp.core.summary import SHARE_BASE_NOTE
    from hemoapp.gui.widgets.summary_panel import headline
    from hemotest.predictions import predicted

    panel = SummaryPanel()
    qtbot.addWidget(panel)
    cells = [predicted("neutrophil"), predicted("lymphocyte", index=1), predicted("lymphocyte", index=2)]
    cells += [replace(predicted("monocyte", index=9), assessable=False, assessable_reason="blurred (sharpness 2.0)")]
    summary = summarize(cells, 0.9)
    panel.set_summary(summary)
    assert panel.chart.parentWidget().title() == "All classes (share of counted cells)"
    assert SHARE_BASE_NOTE in panel.chart.toolTip()
    assert "3 counted" in headline(summary) and "4 classified" in headline(summary)
    assert "counted" not in headline(summarize(cells[:3], 0.9))  # every classified cell counted: said once
