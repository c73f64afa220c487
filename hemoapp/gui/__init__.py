"""HemoLens desktop app (PySide6). The only package that imports Qt.

Imports nothing from ``training``, TensorFlow or Keras: the app runs the model
through :mod:`hemoapp.core` (LiteRT) only.
"""
