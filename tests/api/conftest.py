"""Fixtures of the API tests; the helpers live in ``apishop.py`` (shared with tests/web)."""

from apishop import seeded, shop  # noqa: F401  (pytest fixtures)
