"""Data-subject requests area: export, erasure and restriction (compliance officers)."""
