"""The GraphQL schema: areas (customers, staff, ...) merged at the root in ``schema.py``."""
