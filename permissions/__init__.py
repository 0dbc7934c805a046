"""The permission policy and the one decision every surface calls.

``decide(policy, principal, resource, record)`` answers, for one caller and one record, which
fields are visible (full / masked / none) and which are writable, or raises ``Forbidden`` with
the reason. ``row_scope`` gives repositories the filter that keeps unreachable rows out of
queries in the first place. Nothing here does I/O.
"""

from permissions.decision import Decision, RecordContext, RowScope, decide, row_scope, searchable_fields
from permissions.masking import mask
from permissions.effective import EffectivePolicy, effective_policy
from permissions.policy import Access, Policy, PolicyError, load_default_policy, load_policy

__all__ = [
    "Access",
    "Decision",
    "EffectivePolicy",
    "effective_policy",
    "Policy",
    "PolicyError",
    "RecordContext",
    "RowScope",
    "decide",
    "load_default_policy",
    "load_policy",
    "mask",
    "row_scope",
    "searchable_fields",
]
