"""Widgets of the HemoLens window, one per module."""
