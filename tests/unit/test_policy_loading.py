"""Loading and validating the declarative permission policy."""

from __future__ import annotations

import pytest

from domain.staff import Role
from permissions import PolicyError, load_default_policy, load_policy


def _doc(*, role: str = "associate", resource: str = "customer", body: str = 'scope = "store"\nread = { first_name = "full" }\n', extra: str = "") -> str:
    return f"version = 1\n{extra}\n[roles.{role}.{resource}]\n{body}"


def _rejection(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(text)
    return str(info.value)


def test_default_policy_loads_and_validates() -> None:
    policy = load_default_policy()
    assert policy.version == 1
    assert set(policy.roles) == {r.value for r in Role}


def test_minimal_valid_document_loads() -> None:
    policy = load_policy(_doc())
    rp = policy.resource(Role.ASSOCIATE, "customer")
    assert rp is not None and rp.scope == "store" and rp.rule("first_name").access == "full"


def test_unknown_role_is_rejected_naming_it() -> None:
    message = _rejection(_doc(role="intern"))
    assert "roles.intern" in message and "unknown role" in message


def test_unknown_resource_is_rejected_naming_it() -> None:
    message = _rejection(_doc(resource="invoice"))
    assert "roles.associate.invoice" in message and "unknown resource" in message


def test_unknown_read_field_is_rejected_naming_it() -> None:
    message = _rejection(_doc(body='scope = "store"\nread = { shoe_size = "full" }\n'))
    assert "roles.associate.customer.read.shoe_size" in message


def test_unknown_write_field_is_rejected_naming_it() -> None:
    message = _rejection(_doc(body='scope = "store"\nread = { first_name = "full" }\nwrite = ["first_name", "salary"]\n'))
    assert "roles.associate.customer.write" in message and "salary" in message


def test_unknown_consent_purpose_in_read_rule_is_rejected_naming_it() -> None:
    message = _rejection(_doc(body='scope = "store"\nread = { email = { access = "full", consent = "telepathy" } }\n'))
    assert "roles.associate.customer.read.email" in message and "telepathy" in message


def test_unknown_consent_gate_field_is_rejected_naming_it() -> None:
    message = _rejection(_doc(extra='[consent_gates.customer]\nshoe_size = "personalization"\n'))
    assert "consent_gates.customer.shoe_size" in message


def test_unknown_consent_gate_purpose_is_rejected_naming_it() -> None:
    message = _rejection(_doc(extra='[consent_gates.customer]\nsizes = "telepathy"\n'))
    assert "consent_gates.customer.sizes" in message and "telepathy" in message


def test_unknown_consent_gate_resource_is_rejected_naming_it() -> None:
    message = _rejection(_doc(extra='[consent_gates.invoice]\ntotal = "personalization"\n'))
    assert "consent_gates.invoice" in message


def test_writable_but_never_readable_field_is_rejected_naming_it() -> None:
    message = _rejection(_doc(body='scope = "store"\nread = { first_name = "full" }\nwrite = ["first_name", "email"]\n'))
    assert "roles.associate.customer.write" in message and "'email'" in message and "never readable" in message


def test_field_writable_and_readable_only_in_book_is_accepted() -> None:
    policy = load_policy(_doc(body='scope = "store"\nread = { email = { access = "none", in_book = "full" } }\nwrite = ["email"]\n'))
    rp = policy.resource(Role.ASSOCIATE, "customer")
    assert rp is not None and rp.write == ["email"]


def test_toml_syntax_error_is_a_policy_error_naming_the_line() -> None:
    message = _rejection('version = 1\n[roles.associate.customer]\nscope = store\n')
    assert "line 3" in message


def test_unknown_scope_is_rejected() -> None:
    message = _rejection(_doc(body='scope = "planet"\n'))
    assert "planet" in message


def test_unknown_key_in_read_rule_is_rejected_naming_the_entry() -> None:
    # PolicyError promises that "the message names the offending entry"; an operator with
    # five roles must be able to tell which role, resource and field is wrong.
    message = _rejection(_doc(body='scope = "store"\nread = { email = { acess = "full" } }\n'))
    assert "roles.associate.customer.read.email" in message


def test_unknown_access_level_is_rejected_naming_the_entry() -> None:
    message = _rejection(_doc(role="store_manager", body='scope = "store"\nread = { phone = "partial" }\n'))
    assert "roles.store_manager.customer.read.phone" in message


def test_missing_version_is_rejected() -> None:
    message = _rejection('[roles.associate.customer]\nscope = "store"\n')
    assert "version" in message
