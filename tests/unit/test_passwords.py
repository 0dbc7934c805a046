"""argon2id password verification (cheap parameters: CPU only, no I/O)."""

from __future__ import annotations

from argon2 import PasswordHasher

from clienteling.passwords import Passwords

PASSWORD = "correct horse battery staple"
CHEAP = dict(time_cost=1, memory_cost=8, parallelism=1)
# What Passwords verifies against when the account does not exist (see Passwords.__init__).
DUMMY_PASSWORD = "no such account: constant-time dummy"


def passwords() -> Passwords:
    return Passwords(PasswordHasher(**CHEAP))


async def test_verify_accepts_the_right_password() -> None:
    pw = passwords()
    result = await pw.verify(await pw.hash(PASSWORD), PASSWORD)
    assert result.ok is True and result.new_hash is None


async def test_verify_refuses_a_wrong_password() -> None:
    pw = passwords()
    result = await pw.verify(pw.hash_sync(PASSWORD), "wrong horse")
    assert result.ok is False and result.new_hash is None


async def test_verify_of_missing_hash_is_false() -> None:
    result = await passwords().verify(None, PASSWORD)
    assert result.ok is False and result.new_hash is None


async def test_verify_of_missing_hash_is_false_even_for_the_dummy_password() -> None:
    result = await passwords().verify(None, DUMMY_PASSWORD)
    assert result.ok is False


async def test_verify_of_empty_hash_is_false_even_for_the_dummy_password() -> None:
    # Staff.password_hash is a piccolo Text() column whose default is "".
    result = await passwords().verify("", DUMMY_PASSWORD)
    assert result.ok is False


async def test_verify_of_corrupt_hash_is_false() -> None:
    result = await passwords().verify("$argon2id$not-a-hash", PASSWORD)
    assert result.ok is False


async def test_verify_with_old_parameters_returns_a_new_hash() -> None:
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    pw = passwords()
    result = await pw.verify(old, PASSWORD)
    assert result.ok is True and result.new_hash is not None
    assert not pw.hasher.check_needs_rehash(result.new_hash)
    assert (await pw.verify(result.new_hash, PASSWORD)).ok is True
