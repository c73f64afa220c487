"""The window's controllers: one job each, between the window (which lays widgets out) and the models.

* :mod:`.status`: the status bar's words (passing messages, the flag counts, the model).
* :mod:`.summary`: the summary tab, the agreement and the batch warning, refreshed after changes.
* :mod:`.review`: reviewing the selected cell, the reviewer's name, the sample details.
* :mod:`.session`: what is open: opening folders and files, the batch as it runs, the folder watch.
* :mod:`.export`: the CSVs and the report.

They tell the window what happened through signals and never import it
(an import-linter layers contract in pyproject.toml keeps it so).
"""
