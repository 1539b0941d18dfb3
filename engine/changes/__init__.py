"""Audit-first changesets: proposals, hash-checked apply and revert, crash reconciliation."""
