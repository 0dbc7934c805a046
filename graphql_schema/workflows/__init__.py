"""Seller workflows area: wishlist items, tasks and appointments (types, queries, mutations)."""
