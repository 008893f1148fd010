"""Bearer tokens: 256 random bits, stored as SHA-256, scoped by team and queues (no database needed)."""

from __future__ import annotations

import hashlib

import pytest

from service.adapters.tokens import (
    TOKEN_PREFIX,
    TokenInputError,
    generate_token,
    hash_token,
    looks_like_token,
    parse_queues,
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
