"""Runnable studies, one per file: `python -m experiments.<name>` (see each docstring)."""
