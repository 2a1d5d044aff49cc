"""Embedded default traces in kumo's compact format; see PROVENANCE.md next to this file."""
