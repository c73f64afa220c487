"""HemoLens: offline classification of single blood-cell microscope images."""

__version__ = "0.1.0"
