"""Time sorting the results table, and filling it while it is sorted, as the window does.

A header click sorts every row; while a folder is classified, batches of 32 cells arrive and each cell
takes its place in the sorted order. This fills a :class:`~hemoapp.gui.table_model.ResultsModel` with
``--rows`` synthetic predictions (random classes, confidences and folder names), shows it in a table
through the window's filter proxy (offscreen), and prints the time of each sort and of the filling::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_sort.py               # 10,000 rows
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_sort.py --rows 50000
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableView

from hemoapp.core.pipeline import Prediction
from hemoapp.core.scan import ImageRecord
from hemoapp.gui.filter_proxy import ResultsFilterProxy
from hemoapp.gui.table_model import Column, ResultsModel

BATCH = 32  # the window's batch size (ClassificationController): rows arrive this many at a time


def synthetic_predictions(count: int, seed: int = 1) -> list[Prediction]:
    """``count`` predictions with random classes and confidences, in 99 folders."""
    rng = random.Random(seed)
    predictions = []
    for number in range(count):
        confidence = rng.uniform(0.4, 1.0)
        probabilities = [(1 - confidence) / 7] * 8
        probabilities[rng.randrange(8)] = confidence
        relpath = f"folder_{rng.randrange(99):02d}/cell_{number:06d}.jpg"
        predictions.append(Prediction.from_probabilities(ImageRecord(Path("/x") / relpath, relpath, 1234), probabilities))
    return predictions


def fill(model: ResultsModel, predictions: list[Prediction], app: QApplication) -> float:
    """Append ``predictions`` in batches, letting the view catch up after each; seconds taken."""
    start = time.perf_counter()
    for first in range(0, len(predictions), BATCH):
        model.append_predictions(predictions[first : first + BATCH])
        app.processEvents()
    return time.perf_counter() - start


def main() -> None:
    """Print the seconds each step takes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the table (default 10,000)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    predictions = synthetic_predictions(args.rows)
    model = ResultsModel(review_threshold=0.99)
    proxy = ResultsFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    view.resize(1000, 700)
    view.show()
    print(f"{args.rows:,} rows arriving in batches of {BATCH}, unsorted: {fill(model, predictions, app):.2f} s")
    for column in (Column.FILE, Column.PREDICTED, Column.CONFIDENCE, Column.FLAG, Column.REVIEWED):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            start = time.perf_counter()
            view.sortByColumn(column, order)
            app.processEvents()
            print(f"sort by {column.name.lower():<10} {order.name[:-5].lower():<10} {time.perf_counter() - start:.3f} s")
    view.sortByColumn(Column.FLAG, Qt.SortOrder.AscendingOrder)
    start = time.perf_counter()
    model.set_review_threshold(0.95)  # every flag may change: the rows sort again
    app.processEvents()
    print(f"new review threshold, sorted by flag: {time.perf_counter() - start:.3f} s")
    for column in (Column.CONFIDENCE, Column.FILE):
        view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        model.clear()
        app.processEvents()
        print(f"{args.rows:,} rows arriving, sorted by {column.name.lower()}: {fill(model, predictions, app):.2f} s")


if __name__ == "__main__":
    main()
