"""Adapters that turn what outside devices and platforms send into Komando measurements."""
