"""Raises while being imported."""

raise RuntimeError("deliberate failure at import")
