"""Customers area: types, queries and mutations."""
