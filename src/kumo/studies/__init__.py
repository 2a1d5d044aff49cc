"""Reproductions of published experiments; each plugs into the core through the public hooks."""
