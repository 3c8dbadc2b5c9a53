"""The transparency report: how much legal process arrived and how it ended."""
