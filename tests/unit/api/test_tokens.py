"""Bearer tokens: 256 random bits, stored as SHA-256, scoped by team and queues (no database needed)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from service.adapters.tokens import (
    TOKEN_PREFIX,
    TokenInfo,
    TokenInputError,
    describe_lifetime,
    generate_token,
    hash_token,
    looks_like_token,
    parse_lifetime,
    parse_queues,
    sign_in_lines,
    sign_in_url,
    validate_name,
)
from service.service_layer.tasks_api import Scope


def test_tokens_are_random_well_formed_and_never_repeat():
    tokens = {generate_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(t.startswith(TOKEN_PREFIX) and len(t) == 47 and looks_like_token(t) for t in tokens)


def test_the_stored_hash_is_the_sha256_of_the_token_and_reveals_nothing_of_it():
    token = generate_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest() and len(digest) == 64
    assert token[len(TOKEN_PREFIX):] not in digest and hash_token(token) == digest
    assert hash_token(token[:-1] + ("A" if token[-1] != "A" else "B")) != digest


@pytest.mark.parametrize("value", ["", "dnl_", "dnl_short", "Bearer dnl_x", "dnl_' OR '1'='1" + "x" * 30,
                                   "xyz_" + "a" * 43, "dnl_" + "a" * 44])
def test_malformed_tokens_are_recognised_without_a_lookup(value):
    assert not looks_like_token(value)


def test_queue_lists_are_parsed_and_unknown_queues_named():
    assert parse_queues("appeals, coding,appeals,") == ("appeals", "coding")
    assert parse_queues("") == ()
    with pytest.raises(TokenInputError, match="unknown queue 'nope', 'x'"):
        parse_queues("appeals,nope,x")


@pytest.mark.parametrize("name", ["a b", "", "-x", "a/b", "x" * 65, "é", "a;drop"])
def test_team_and_user_names_are_plain_identifiers(name):
    with pytest.raises(TokenInputError):
        validate_name("team", name)
    assert validate_name("team", "appeals-east.1_b") == "appeals-east.1_b"


def test_a_scope_sees_its_queues_and_a_supervisor_sees_all():
    team = Scope(team="east", user="ann", queues=frozenset({"appeals"}))
    assert team.actor == "east/ann" and team.sees("appeals") and not team.sees("coding")
    assert team.visible_queues == frozenset({"appeals"})
    boss = Scope(team="leads", queues=frozenset(), supervisor=True)
    assert boss.actor == "leads" and boss.sees("coding") and boss.visible_queues is None


@pytest.mark.parametrize(("text", "lifetime"), [
    ("12h", dt.timedelta(hours=12)), ("30d", dt.timedelta(days=30)), ("90d", dt.timedelta(days=90)),
    ("2w", dt.timedelta(weeks=2)), ("45m", dt.timedelta(minutes=45)), (" 7d ", dt.timedelta(days=7)),
    ("3650d", dt.timedelta(days=3650))])
def test_lifetimes_read_as_a_number_and_a_unit(text, lifetime):
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["", "90", "d", "90 days", "1.5d", "-1d", "0h", "3651d", "90D", "1y", "12hh"])
def test_a_bad_lifetime_is_one_sentence_naming_the_option(text):
    with pytest.raises(TokenInputError) as caught:
        parse_lifetime(text)
    message = str(caught.value)
    assert message.startswith("--expires-in must be") and "\n" not in message


def test_lifetimes_are_described_in_words():
    assert [describe_lifetime(parse_lifetime(t)) for t in ("12h", "1d", "90d", "90m")] == \
        ["12 h", "1 day", "90 days", "90 min"]


def _info(**overrides) -> TokenInfo:
    now = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    values = dict(id=7, prefix="dnl_abcdef", team="east", user=None, queues=("appeals",), supervisor=False,
                  created_at=now, last_used_at=None, revoked_at=None, expires_at=None)
    return TokenInfo(**{**values, **overrides})


def test_a_token_is_active_until_it_expires_and_revoked_whatever_its_expiry():
    now = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    assert _info().status(now) == "active"
    assert _info(expires_at=now + dt.timedelta(seconds=1)).status(now) == "active"
    assert _info(expires_at=now).status(now) == "expired"
    assert _info(expires_at=now - dt.timedelta(days=1), revoked_at=now).status(now) == "revoked"


def test_a_sign_in_link_carries_the_token_in_the_fragment_and_loopback_for_a_wildcard_host():
    token = generate_token()
    assert sign_in_url("127.0.0.1", 8080, token) == f"http://127.0.0.1:8080/#token={token}"
    assert sign_in_url("0.0.0.0", 80, token).startswith("http://127.0.0.1:80/#token=")
    assert sign_in_url("::1", 8080, token).startswith("http://[::1]:8080/#")
    info = _info(supervisor=True, queues=(), expires_at=dt.datetime(2026, 3, 3, 0, tzinfo=dt.UTC))
    lines = sign_in_lines(info, sign_in_url("127.0.0.1", 8080, token))
    assert lines[0] == f"sign in: http://127.0.0.1:8080/#token={token}"
    assert "\n".join(lines).count(token) == 1 and "expires 2026-03-03 00:00Z" in lines[1]
    assert "denials tokens revoke 7" in lines[1]
