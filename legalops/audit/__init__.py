"""The append-only, hash-chained audit log (DESIGN.md invariant 9, R21/R22)."""
