"""The Qt-free core: scan, decode, classify, summarise, export (no PySide6, no TensorFlow)."""
