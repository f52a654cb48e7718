"""Pure functions that return component trees: no I/O, no callbacks."""
