"""Render the policy as Markdown tables for docs/permissions.md (kept in sync by a test).

``python -m permissions.docs`` prints the tables of the default policy."""

from __future__ import annotations

from domain.staff import Role
from permissions.policy import CAPABILITIES, RESOURCE_FIELDS, Policy, load_default_policy

__all__ = ["render_tables", "BEGIN", "END"]

BEGIN = "<!-- BEGIN GENERATED POLICY TABLES (python -m permissions.docs) -->"
END = "<!-- END GENERATED POLICY TABLES -->"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _cell(policy: Policy, role: Role, resource: str, field: str) -> str:
    rp = policy.resource(role, resource)
    if rp is None:
        return "—"
    rule = rp.rule(field)
    text = rule.access
    if rule.in_book and rule.in_book != rule.access:
        text += f" (own book: {rule.in_book})"
    purpose = rule.consent or policy.consent_gates.get(resource, {}).get(field)
    if purpose and text != "none":
        text += f" ⟂ {purpose}"
    if field in rp.write:
        text += " ✎"
    return text


def render_tables(policy: Policy) -> str:
    roles = list(Role)
    lines = [BEGIN, ""]
    lines += ["### Row scope and creation", "", "| resource | " + " | ".join(r.value for r in roles) + " |", "| --- |" + " --- |" * len(roles)]
    for resource in RESOURCE_FIELDS:
        cells = []
        for role in roles:
            rp = policy.resource(role, resource)
            cells.append("no access" if rp is None else rp.scope + (", creates" if rp.create else "") + (", claims own book" if rp.claim_on_create else ""))
        lines.append(f"| {resource} | " + " | ".join(cells) + " |")
    for resource, fields in RESOURCE_FIELDS.items():
        lines += ["", f"### {resource.capitalize()} fields", "", "| field | " + " | ".join(r.value for r in roles) + " |", "| --- |" + " --- |" * len(roles)]
        for field in fields:
            lines.append(f"| `{_camel(field)}` | " + " | ".join(_cell(policy, r, resource, field) for r in roles) + " |")
    lines += ["", "### Capabilities", "", "| capability | roles |", "| --- | --- |"]
    for capability in CAPABILITIES:
        lines.append(f"| `{capability}` | {', '.join(policy.capabilities.get(capability, [])) or '—'} |")
    bg = policy.break_glass
    lines += ["", f"Break-glass: {', '.join(bg.roles) or 'nobody'}; {bg.minutes} minutes; a reason of at least {bg.min_reason_length} characters.", "", END]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_tables(load_default_policy()))
