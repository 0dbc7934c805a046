"""Permissions area: the caller's effective policy and break-glass access."""
