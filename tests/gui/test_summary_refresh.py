"""How often the window recomputes the summary (counts, differential, agreement, batch warning).

The summary is computed from every row, so it costs more as a batch grows (0.02–0.06 s for 12,000 cells in
class folders on the 2-core development machine). While cells arrive it waits at least ``SUMMARY_COST_RATIO``
times its last duration, so it never takes more than a small share of the window's thread from the
classification; after a review or a new threshold it follows within ``SUMMARY_DELAY_MS``.
"""

from __future__ import annotations

import time

from hemoapp.gui.controllers.summary import SUMMARY_COST_RATIO, SUMMARY_DELAY_MS, summary_pause_ms

SLOW_S = 0.1  # how long the slowed summary below takes
# How long the fake model takes per cell: 17 cells take 3.4 s, so at least two refreshes (0.9 s apart) come
# while cells arrive even when a loaded machine delays the first by a second.
CELL_S = 0.2


class _SlowSummary:
    """Stands in for ``SummaryController.current_summary``: records when it ran and takes ``SLOW_S``."""

    def __init__(self, window) -> None:
        self.compute = window.current_summary
        self.started: list[float] = []

    def __call__(self):
        self.started.append(time.perf_counter())
        time.sleep(SLOW_S)
        return self.compute()


def test_pause_grows_with_the_cost_of_the_last_refresh():
    assert summary_pause_ms(0.0) == SUMMARY_DELAY_MS
    assert summary_pause_ms(0.01) == SUMMARY_DELAY_MS
    assert summary_pause_ms(0.2) == round(0.2 * SUMMARY_COST_RATIO * 1000)


def test_while_cells_arrive_a_slow_summary_waits_longer(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier(delay_s=CELL_S), batch_size=1)
    slow = _SlowSummary(window)
    window.summary.current_summary = slow
    delivered_at: list[float] = []
    window.controller.batch_ready.connect(lambda _batch: delivered_at.append(time.perf_counter()))
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        window.open_folder(cell_folder)
    # The last refresh is the batch's end (at once, whatever the pause, before the end's signal has been
    # handled); the ones before came with cells.
    assert delivered_at[-1] <= slow.started[-1]
    during = slow.started[:-1]
    assert len(during) >= 2, slow.started
    gaps = [later - earlier for earlier, later in zip(during, during[1:])]
    # the refresh took SLOW_S, so the next one waited SUMMARY_COST_RATIO times that after it
    assert min(gaps) >= SLOW_S + 0.95 * summary_pause_ms(SLOW_S) / 1000, gaps


def test_after_a_review_the_summary_follows_quickly_even_if_slow(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier(), batch_size=4)
    slow = _SlowSummary(window)
    window.summary.current_summary = slow
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        window.open_folder(cell_folder)
    qtbot.waitUntil(lambda: not window.summary.timer.isActive(), timeout=5000)
    refreshes = len(slow.started)
    window.results_view.select_proxy_row(0)
    assert window.review_selected("platelet")
    # the pause is the short one, not SUMMARY_COST_RATIO times the slow refresh (checked on the timer, not
    # on the wall clock, which a loaded machine stretches)
    assert window.summary.timer.isActive()
    assert window.summary.timer.interval() == SUMMARY_DELAY_MS < summary_pause_ms(SLOW_S)
    qtbot.waitUntil(lambda: len(slow.started) > refreshes, timeout=5000)
