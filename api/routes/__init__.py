"""REST controllers under /api/v1."""
