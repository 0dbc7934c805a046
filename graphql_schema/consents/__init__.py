"""Consents area: the consent ledger (history, capture) and the notice texts."""
