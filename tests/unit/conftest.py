"""Unit-test settings: no I/O, so hypothesis keeps no example database on disk."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("unit", database=None)
settings.load_profile("unit")
