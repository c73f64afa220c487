"""Test support for HemoLens: a tiny real model and a corpus of odd image files.

Importable from any test because ``pyproject.toml`` puts ``tests/`` on
``pythonpath``. Nothing here is shipped.
"""
