"""Holds the permission policy in force; swapping it takes effect for the next request."""

from __future__ import annotations

from permissions import Policy, load_default_policy

__all__ = ["PolicyStore"]


class PolicyStore:
    def __init__(self, policy: Policy | None = None) -> None:
        self._policy = policy or load_default_policy()

    @property
    def current(self) -> Policy:
        return self._policy

    def replace(self, policy: Policy) -> None:
        self._policy = policy
