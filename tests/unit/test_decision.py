"""decide(), Decision.project/check_write, check_create and searchable_fields against the
default policy."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

import pytest

from domain.consent import PURPOSES
from domain.customers import CUSTOMER_FIELDS
from domain.errors import FieldsNotWritable, Forbidden
from domain.staff import Role
from permissions import Decision, decide, load_default_policy, row_scope, searchable_fields
from permissions.decision import check_create
from tests.unit.permission_factories import STORE_A, STORE_B, customer, note, principal

POLICY = load_default_policy()
ALL = frozenset(PURPOSES)

VALUES = {
    "first_name": "Ana",
    "last_name": "García",
    "email": "ana.garcia@example.com",
    "phone": "+34 612 345 678",
    "birthdate": dt.date(1990, 5, 17),
    "sizes": {"shoe": "38"},
    "preferences": {"colors": ["navy"]},
    "vip": True,
}


# --- row scope ---------------------------------------------------------------------------

def test_associate_reaches_customer_of_own_store() -> None:
    me = principal(role="associate", stores=(STORE_A,))
    assert decide(POLICY, me, "customer", customer(store=STORE_A)).fields["first_name"] == "full"


def test_associate_is_forbidden_customer_of_other_store() -> None:
    me = principal(role="associate", stores=(STORE_A,))
    with pytest.raises(Forbidden):
        decide(POLICY, me, "customer", customer(store=STORE_B))


def test_associate_is_forbidden_customer_without_store() -> None:
    me = principal(role="associate", stores=(STORE_A,))
    with pytest.raises(Forbidden):
        decide(POLICY, me, "customer", customer(store=None))


def test_store_manager_is_forbidden_customer_of_other_store() -> None:
    me = principal(role="store_manager", stores=(STORE_A,))
    with pytest.raises(Forbidden):
        decide(POLICY, me, "customer", customer(store=STORE_B))


def test_hq_admin_reaches_customer_of_any_store() -> None:
    me = principal(role="hq_admin", stores=())
    decision = decide(POLICY, me, "customer", customer(store=STORE_B))
    assert decision.fields["email"] == "full"


def test_row_scope_of_associate_is_store_with_its_stores() -> None:
    me = principal(role="associate", stores=(STORE_A, STORE_B))
    scope = row_scope(POLICY, me, "customer")
    assert scope.kind == "store" and scope.store_ids == {STORE_A, STORE_B} and scope.staff_id == me.staff_id


def test_row_scope_of_hq_admin_is_all() -> None:
    assert row_scope(POLICY, principal(role="hq_admin"), "customer").kind == "all"


def test_row_scope_of_marketing_for_notes_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        row_scope(POLICY, principal(role="marketing"), "note")


# --- associate: contact masking and the client book ---------------------------------------

@pytest.mark.parametrize("field", ["email", "phone", "birthdate"])
def test_associate_sees_masked_contact_outside_own_client_book(field: str) -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(primary=uuid4(), consents=ALL))
    assert decision.fields[field] == "masked"


@pytest.mark.parametrize("field", ["email", "phone", "birthdate"])
def test_associate_sees_full_contact_as_primary_associate(field: str) -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id))
    assert decision.fields[field] == "full"


@pytest.mark.parametrize("field", ["email", "phone", "birthdate"])
def test_associate_sees_full_contact_as_secondary_associate(field: str) -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(primary=uuid4(), secondary=me.staff_id))
    assert decision.fields[field] == "full"


def test_associate_projection_masks_email_outside_own_client_book() -> None:
    me = principal(role="associate")
    view = decide(POLICY, me, "customer", customer()).project(VALUES)
    assert view["email"] == "a•••@example.com"
    assert view["phone"] == "•••678"
    assert view["birthdate"] == "--05-17"


def test_associate_projection_shows_raw_email_inside_own_client_book() -> None:
    me = principal(role="associate")
    view = decide(POLICY, me, "customer", customer(primary=me.staff_id)).project(VALUES)
    assert view["email"] == "ana.garcia@example.com"
    assert view["phone"] == "+34 612 345 678"
    assert view["birthdate"] == dt.date(1990, 5, 17)


# --- consent-gated fields ----------------------------------------------------------------

@pytest.mark.parametrize("role", ["associate", "store_manager", "hq_admin"])
@pytest.mark.parametrize("field", ["sizes", "preferences"])
def test_sizes_and_preferences_hidden_without_personalization_consent(role: str, field: str) -> None:
    me = principal(role=role)
    others = ALL - {"personalization"}
    assert decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=others)).fields[field] == "none"


@pytest.mark.parametrize("role", ["associate", "store_manager", "hq_admin"])
@pytest.mark.parametrize("field", ["sizes", "preferences"])
def test_sizes_and_preferences_full_with_personalization_consent(role: str, field: str) -> None:
    me = principal(role=role)
    assert decide(POLICY, me, "customer", customer(consents=("personalization",))).fields[field] == "full"


def test_projection_nulls_sizes_without_personalization_consent() -> None:
    me = principal(role="store_manager")
    view = decide(POLICY, me, "customer", customer()).project(VALUES)
    assert view["sizes"] is None and view["preferences"] is None


# --- writable set ------------------------------------------------------------------------

def test_associate_cannot_write_email_of_customer_outside_own_book() -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(consents=ALL))
    assert "email" not in decision.writable
    assert "phone" not in decision.writable
    assert "birthdate" not in decision.writable


def test_associate_can_write_email_of_customer_in_own_book() -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id))
    assert {"email", "phone", "birthdate"} <= decision.writable


def test_associate_cannot_write_sizes_without_personalization_consent() -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id))
    assert "sizes" not in decision.writable and "preferences" not in decision.writable


def test_associate_can_write_sizes_with_personalization_consent() -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(consents=("personalization",)))
    assert {"sizes", "preferences"} <= decision.writable


@pytest.mark.parametrize("field", ["vip", "home_store_id", "primary_associate_id", "secondary_associate_id"])
def test_associate_cannot_write_assignment_or_vip(field: str) -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=ALL))
    assert field not in decision.writable


@pytest.mark.parametrize("field", ["vip", "home_store_id", "primary_associate_id", "secondary_associate_id"])
def test_store_manager_can_write_assignment_and_vip(field: str) -> None:
    me = principal(role="store_manager")
    decision = decide(POLICY, me, "customer", customer())
    assert field in decision.writable


@pytest.mark.parametrize("role", ["associate", "store_manager", "hq_admin", "compliance_officer", "marketing"])
def test_loyalty_and_timestamps_are_never_writable(role: str) -> None:
    me = principal(role=role)
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=ALL))
    assert not decision.writable & {"loyalty_number", "loyalty_tier", "loyalty_points", "created_at", "updated_at"}


# --- other roles -------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["email", "phone", "birthdate"])
def test_store_manager_sees_full_contact_outside_any_book(field: str) -> None:
    me = principal(role="store_manager")
    assert decide(POLICY, me, "customer", customer(primary=uuid4())).fields[field] == "full"


def test_compliance_officer_reads_names_but_not_phone_or_sizes() -> None:
    me = principal(role="compliance_officer")
    fields = decide(POLICY, me, "customer", customer(consents=ALL)).fields
    assert fields["first_name"] == "full" and fields["last_name"] == "full"
    assert fields["phone"] == "none" and fields["sizes"] == "none"


def test_compliance_officer_writes_nothing() -> None:
    me = principal(role="compliance_officer")
    assert decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=ALL)).writable == frozenset()


def test_marketing_sees_email_only_with_marketing_email_consent() -> None:
    me = principal(role="marketing")
    assert decide(POLICY, me, "customer", customer(consents=("marketing_email",))).fields["email"] == "full"
    assert decide(POLICY, me, "customer", customer(consents=ALL - {"marketing_email"})).fields["email"] == "none"


def test_marketing_sees_phone_only_with_marketing_sms_consent() -> None:
    me = principal(role="marketing")
    assert decide(POLICY, me, "customer", customer(consents=("marketing_sms",))).fields["phone"] == "full"
    assert decide(POLICY, me, "customer", customer(consents=ALL - {"marketing_sms"})).fields["phone"] == "none"


@pytest.mark.parametrize("field", ["birthdate", "sizes", "preferences"])
def test_marketing_never_sees_birthdate_or_sizes(field: str) -> None:
    me = principal(role="marketing")
    assert decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=ALL)).fields[field] == "none"


def test_marketing_writes_nothing() -> None:
    me = principal(role="marketing")
    assert decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=ALL)).writable == frozenset()


@pytest.mark.parametrize("role", ["marketing", "compliance_officer"])
def test_role_without_note_resource_is_forbidden_notes(role: str) -> None:
    with pytest.raises(Forbidden):
        decide(POLICY, principal(role=role), "note", note())


# --- notes -------------------------------------------------------------------------------

def test_private_note_is_visible_to_its_author() -> None:
    me = principal(role="associate")
    assert decide(POLICY, me, "note", note(author=me.staff_id, private=True)).fields["body"] == "full"


@pytest.mark.parametrize("role", ["associate", "store_manager", "hq_admin"])
def test_private_note_is_forbidden_to_anyone_but_its_author(role: str) -> None:
    with pytest.raises(Forbidden):
        decide(POLICY, principal(role=role), "note", note(author=uuid4(), private=True))


def test_shared_note_is_visible_to_colleague_of_same_store() -> None:
    me = principal(role="associate")
    assert decide(POLICY, me, "note", note(author=uuid4())).fields["body"] == "full"


def test_note_of_other_store_is_forbidden_to_associate() -> None:
    with pytest.raises(Forbidden):
        decide(POLICY, principal(role="associate", stores=(STORE_A,)), "note", note(store=STORE_B))


# --- Decision.project and check_write ------------------------------------------------------

def test_project_keeps_full_masks_masked_and_nulls_none() -> None:
    decision = Decision(fields={"first_name": "full", "email": "masked", "phone": "none"}, writable=frozenset())
    assert decision.project({"first_name": "Ana", "email": "ana@example.com", "phone": "+34 612 345 678"}) == {
        "first_name": "Ana",
        "email": "a•••@example.com",
        "phone": None,
    }


def test_project_returns_only_fields_of_the_decision() -> None:
    decision = Decision(fields={"first_name": "full"}, writable=frozenset())
    assert decision.project({"first_name": "Ana", "secret": "x"}) == {"first_name": "Ana"}


def test_project_keeps_missing_masked_value_as_none() -> None:
    decision = Decision(fields={"email": "masked"}, writable=frozenset())
    assert decision.project({}) == {"email": None}


def test_check_write_accepts_writable_fields() -> None:
    Decision(fields={}, writable=frozenset({"first_name", "tags"})).check_write(["first_name", "tags"])


def test_check_write_refuses_listing_exactly_the_refused_fields() -> None:
    decision = Decision(fields={}, writable=frozenset({"first_name", "tags"}))
    with pytest.raises(FieldsNotWritable) as info:
        decision.check_write(["first_name", "vip", "tags", "email"])
    assert info.value.extra["fields"] == ["email", "vip"]


def test_check_write_refusal_is_forbidden_kind() -> None:
    with pytest.raises(Forbidden):
        Decision(fields={}, writable=frozenset()).check_write(["vip"])


def test_associate_write_of_vip_is_refused_by_check_write() -> None:
    me = principal(role="associate")
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=ALL))
    with pytest.raises(FieldsNotWritable) as info:
        decision.check_write(["first_name", "vip", "home_store_id"])
    assert info.value.extra["fields"] == ["homeStoreId", "vip"]


# --- check_create ------------------------------------------------------------------------

def test_associate_may_create_customer_in_own_store() -> None:
    check_create(POLICY, principal(role="associate"), "customer", STORE_A, ["first_name", "last_name", "email"])


def test_associate_may_not_create_customer_in_other_store() -> None:
    with pytest.raises(Forbidden):
        check_create(POLICY, principal(role="associate", stores=(STORE_A,)), "customer", STORE_B, ["first_name"])


def test_store_manager_may_not_create_customer_without_store() -> None:
    with pytest.raises(Forbidden):
        check_create(POLICY, principal(role="store_manager"), "customer", None, ["first_name"])


def test_hq_admin_may_create_customer_in_any_store() -> None:
    check_create(POLICY, principal(role="hq_admin", stores=()), "customer", STORE_B, ["first_name", "vip"])


@pytest.mark.parametrize("role", ["compliance_officer", "marketing"])
def test_role_without_create_may_not_create_customer(role: str) -> None:
    with pytest.raises(Forbidden):
        check_create(POLICY, principal(role=role), "customer", STORE_A, ["first_name"])


def test_create_refuses_consent_gated_fields_without_consent() -> None:
    with pytest.raises(FieldsNotWritable) as info:
        check_create(POLICY, principal(role="store_manager"), "customer", STORE_A, ["first_name", "sizes", "preferences"])
    assert info.value.extra["fields"] == ["preferences", "sizes"]


def test_create_accepts_consent_gated_fields_with_consent() -> None:
    check_create(POLICY, principal(role="store_manager"), "customer", STORE_A, ["sizes", "preferences"], frozenset({"personalization"}))


def test_associate_create_refuses_vip() -> None:
    with pytest.raises(FieldsNotWritable) as info:
        check_create(POLICY, principal(role="associate"), "customer", STORE_A, ["first_name", "vip"])
    assert info.value.extra["fields"] == ["vip"]


# --- searchable_fields -------------------------------------------------------------------

def test_associate_searches_email_and_phone_only_in_own_book() -> None:
    where = searchable_fields(POLICY, principal(role="associate"))
    assert where["email"] == "book" and where["phone"] == "book"
    assert where["first_name"] == "scope" and where["last_name"] == "scope"


@pytest.mark.parametrize("role", ["associate", "store_manager", "hq_admin", "compliance_officer", "marketing"])
def test_consent_gated_fields_are_never_searchable(role: str) -> None:
    where = searchable_fields(POLICY, principal(role=role))
    assert not {"sizes", "preferences"} & where.keys()


def test_marketing_cannot_search_consent_gated_email_or_phone() -> None:
    where = searchable_fields(POLICY, principal(role="marketing"))
    assert "email" not in where and "phone" not in where and where["last_name"] == "scope"


def test_compliance_officer_cannot_search_masked_email() -> None:
    assert "email" not in searchable_fields(POLICY, principal(role="compliance_officer"))


def test_store_manager_searches_email_across_scope() -> None:
    assert searchable_fields(POLICY, principal(role="store_manager"))["email"] == "scope"


def test_role_without_resource_has_nothing_searchable() -> None:
    assert searchable_fields(POLICY, principal(role="marketing"), "note") == {}


@pytest.mark.parametrize("role", ["associate", "store_manager", "hq_admin", "compliance_officer", "marketing"])
def test_searchable_field_is_readable_in_full_wherever_it_is_searched(role: str) -> None:
    me = principal(role=role)
    where = searchable_fields(POLICY, me)
    for in_book in (False, True):
        for consents in (frozenset(), ALL):
            fields = decide(POLICY, me, "customer", customer(primary=me.staff_id if in_book else None, consents=consents)).fields
            for field, place in where.items():
                if place == "scope" or in_book:
                    assert fields[field] == "full", (field, place, in_book, consents)


# --- golden table: an accidental policy change must fail here ------------------------------

F, M, N = "full", "masked", "none"

GOLDEN_OUT_OF_BOOK_ALL_CONSENTS: dict[str, dict[str, str]] = {
    "associate": {
        "first_name": F, "last_name": F, "email": M, "phone": M, "birthdate": M, "language": F,
        "home_store_id": F, "primary_associate_id": F, "secondary_associate_id": F,
        "sizes": F, "preferences": F, "tags": F, "vip": F, "loyalty_number": F,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
    "store_manager": {
        "first_name": F, "last_name": F, "email": F, "phone": F, "birthdate": F, "language": F,
        "home_store_id": F, "primary_associate_id": F, "secondary_associate_id": F,
        "sizes": F, "preferences": F, "tags": F, "vip": F, "loyalty_number": F,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
    "hq_admin": {
        "first_name": F, "last_name": F, "email": F, "phone": F, "birthdate": F, "language": F,
        "home_store_id": F, "primary_associate_id": F, "secondary_associate_id": F,
        "sizes": F, "preferences": F, "tags": F, "vip": F, "loyalty_number": F,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
    "compliance_officer": {
        "first_name": F, "last_name": F, "email": M, "phone": N, "birthdate": N, "language": N,
        "home_store_id": F, "primary_associate_id": N, "secondary_associate_id": N,
        "sizes": N, "preferences": N, "tags": N, "vip": N, "loyalty_number": F,
        "loyalty_tier": N, "loyalty_points": N, "created_at": F, "updated_at": F,
    },
    "marketing": {
        "first_name": F, "last_name": F, "email": F, "phone": F, "birthdate": N, "language": F,
        "home_store_id": F, "primary_associate_id": N, "secondary_associate_id": N,
        "sizes": N, "preferences": N, "tags": F, "vip": F, "loyalty_number": N,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
}

GOLDEN_IN_BOOK_NO_CONSENTS: dict[str, dict[str, str]] = {
    "associate": {
        "first_name": F, "last_name": F, "email": F, "phone": F, "birthdate": F, "language": F,
        "home_store_id": F, "primary_associate_id": F, "secondary_associate_id": F,
        "sizes": N, "preferences": N, "tags": F, "vip": F, "loyalty_number": F,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
    "store_manager": {
        "first_name": F, "last_name": F, "email": F, "phone": F, "birthdate": F, "language": F,
        "home_store_id": F, "primary_associate_id": F, "secondary_associate_id": F,
        "sizes": N, "preferences": N, "tags": F, "vip": F, "loyalty_number": F,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
    "hq_admin": {
        "first_name": F, "last_name": F, "email": F, "phone": F, "birthdate": F, "language": F,
        "home_store_id": F, "primary_associate_id": F, "secondary_associate_id": F,
        "sizes": N, "preferences": N, "tags": F, "vip": F, "loyalty_number": F,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
    "compliance_officer": {
        "first_name": F, "last_name": F, "email": M, "phone": N, "birthdate": N, "language": N,
        "home_store_id": F, "primary_associate_id": N, "secondary_associate_id": N,
        "sizes": N, "preferences": N, "tags": N, "vip": N, "loyalty_number": F,
        "loyalty_tier": N, "loyalty_points": N, "created_at": F, "updated_at": F,
    },
    "marketing": {
        "first_name": F, "last_name": F, "email": N, "phone": N, "birthdate": N, "language": F,
        "home_store_id": F, "primary_associate_id": N, "secondary_associate_id": N,
        "sizes": N, "preferences": N, "tags": F, "vip": F, "loyalty_number": N,
        "loyalty_tier": F, "loyalty_points": F, "created_at": F, "updated_at": F,
    },
}

GOLDEN_WRITABLE_IN_BOOK_ALL_CONSENTS: dict[str, set[str]] = {
    "associate": {"first_name", "last_name", "email", "phone", "birthdate", "language", "sizes", "preferences", "tags"},
    "store_manager": {"first_name", "last_name", "email", "phone", "birthdate", "language", "home_store_id", "primary_associate_id", "secondary_associate_id", "sizes", "preferences", "tags", "vip"},
    "hq_admin": {"first_name", "last_name", "email", "phone", "birthdate", "language", "home_store_id", "primary_associate_id", "secondary_associate_id", "sizes", "preferences", "tags", "vip"},
    "compliance_officer": set(),
    "marketing": set(),
}


def test_golden_tables_cover_every_role_and_field() -> None:
    for table in (GOLDEN_OUT_OF_BOOK_ALL_CONSENTS, GOLDEN_IN_BOOK_NO_CONSENTS):
        assert set(table) == {r.value for r in Role}
        for row in table.values():
            assert set(row) == set(CUSTOMER_FIELDS)


@pytest.mark.parametrize("role", sorted(GOLDEN_OUT_OF_BOOK_ALL_CONSENTS))
def test_golden_access_out_of_book_with_all_consents(role: str) -> None:
    me = principal(role=role)
    decision = decide(POLICY, me, "customer", customer(primary=uuid4(), consents=ALL))
    assert dict(decision.fields) == GOLDEN_OUT_OF_BOOK_ALL_CONSENTS[role]


@pytest.mark.parametrize("role", sorted(GOLDEN_IN_BOOK_NO_CONSENTS))
def test_golden_access_in_book_without_consents(role: str) -> None:
    me = principal(role=role)
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=()))
    assert dict(decision.fields) == GOLDEN_IN_BOOK_NO_CONSENTS[role]


@pytest.mark.parametrize("role", sorted(GOLDEN_WRITABLE_IN_BOOK_ALL_CONSENTS))
def test_golden_writable_in_book_with_all_consents(role: str) -> None:
    me = principal(role=role)
    decision = decide(POLICY, me, "customer", customer(primary=me.staff_id, consents=ALL))
    assert set(decision.writable) == GOLDEN_WRITABLE_IN_BOOK_ALL_CONSENTS[role]
