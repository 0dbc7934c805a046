"""Property tests: whatever the role, record and values, decide() never leaks."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.consent import PURPOSES
from domain.customers import CUSTOMER_FIELDS
from domain.errors import Forbidden
from domain.staff import Role
from permissions import RecordContext, decide, load_default_policy
from permissions.policy import RESOURCE_FIELDS
from tests.unit.permission_factories import STORE_A, STORE_B, principal

POLICY = load_default_policy()
_RANK = {"none": 0, "masked": 1, "full": 2}

roles = st.sampled_from(list(Role))
consent_sets = st.frozensets(st.sampled_from(PURPOSES))
emails = st.emails()
phones = st.from_regex(r"\A\+?[0-9][0-9 ().-]{5,20}\Z")
birthdates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31))
short_text = st.text(min_size=0, max_size=20)


@st.composite
def customer_values(draw: st.DrawFn) -> dict[str, object]:
    values: dict[str, object] = {f: draw(st.one_of(st.none(), short_text)) for f in CUSTOMER_FIELDS}
    values["email"] = draw(st.one_of(st.none(), emails))
    values["phone"] = draw(st.one_of(st.none(), phones))
    values["birthdate"] = draw(st.one_of(st.none(), birthdates, birthdates.map(dt.date.isoformat)))
    values["sizes"] = draw(st.one_of(st.none(), st.dictionaries(short_text, short_text, max_size=3)))
    values["vip"] = draw(st.one_of(st.none(), st.booleans()))
    values["loyalty_points"] = draw(st.one_of(st.none(), st.integers()))
    return values


@st.composite
def situations(draw: st.DrawFn):  # noqa: ANN202
    role = draw(roles)
    me = principal(role=role, stores=(STORE_A,))
    in_scope = draw(st.booleans())
    book = draw(st.sampled_from(["primary", "secondary", "other", "nobody"]))
    other = uuid4()
    primary = {"primary": me.staff_id, "secondary": other, "other": other, "nobody": None}[book]
    secondary = me.staff_id if book == "secondary" else None
    record = RecordContext(
        store_id=STORE_A if in_scope else draw(st.sampled_from([STORE_B, None])),
        primary_associate_id=primary,
        secondary_associate_id=secondary,
        consents=draw(consent_sets),
    )
    return me, record, in_scope


def _ceiling(role: Role, field: str) -> str:
    """The most the role's rule for ``field`` can ever grant."""
    rp = POLICY.resource(role, "customer")
    assert rp is not None
    if field not in rp.read:
        return "none"
    rule = rp.rule(field)
    return max(rule.access, rule.in_book or "none", key=_RANK.__getitem__)


@settings(max_examples=400, deadline=None)
@given(situations(), customer_values())
def test_projection_never_reveals_what_the_decision_hides(situation, values) -> None:  # noqa: ANN001
    me, record, _ = situation
    try:
        decision = decide(POLICY, me, "customer", record)
    except Forbidden:
        return
    view = decision.project(values)
    assert set(view) == set(CUSTOMER_FIELDS)
    for field, access in decision.fields.items():
        if access == "none":
            assert view[field] is None, field
        elif access == "masked":
            if field in ("email", "phone") and values[field] is not None:
                assert view[field] != values[field], field
                assert "•••" in view[field]
        else:
            assert view[field] == values[field]


@settings(max_examples=400, deadline=None)
@given(situations())
def test_decide_never_grants_more_than_the_role_rule(situation) -> None:  # noqa: ANN001
    me, record, _ = situation
    try:
        decision = decide(POLICY, me, "customer", record)
    except Forbidden:
        return
    for field in RESOURCE_FIELDS["customer"]:
        assert _RANK[decision.fields[field]] <= _RANK[_ceiling(me.role, field)], field
    rp = POLICY.resource(me.role, "customer")
    assert rp is not None
    assert decision.writable <= set(rp.write)
    assert all(decision.fields[f] == "full" for f in decision.writable)


@settings(max_examples=300, deadline=None)
@given(situations())
def test_decide_forbids_exactly_the_out_of_scope_records(situation) -> None:  # noqa: ANN001
    me, record, in_scope = situation
    rp = POLICY.resource(me.role, "customer")
    assert rp is not None
    expect_forbidden = rp.scope == "store" and not in_scope
    try:
        decide(POLICY, me, "customer", record)
    except Forbidden:
        assert expect_forbidden
    else:
        assert not expect_forbidden


@settings(max_examples=300, deadline=None)
@given(situations())
def test_consent_gated_fields_are_none_without_their_purpose(situation) -> None:  # noqa: ANN001
    me, record, _ = situation
    try:
        fields = decide(POLICY, me, "customer", record).fields
    except Forbidden:
        return
    rp = POLICY.resource(me.role, "customer")
    assert rp is not None
    for field, purpose in POLICY.consent_gates.get("customer", {}).items():
        if purpose not in record.consents:
            assert fields[field] == "none", field
    for field in CUSTOMER_FIELDS:
        purpose = rp.rule(field).consent
        if purpose and purpose not in record.consents:
            assert fields[field] == "none", field
