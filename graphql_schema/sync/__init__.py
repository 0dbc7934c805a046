"""Offline sync endpoints for RxDB's ``replicateGraphQL`` (SPEC §6)."""
