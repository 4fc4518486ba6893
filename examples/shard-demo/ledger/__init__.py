"""A small ledger: amounts, entries, and period closing against a simulated store."""
