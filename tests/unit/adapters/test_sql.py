"""Statements built from parameterised conditions: values only ever travel as parameters."""

from service.adapters.sql import Params, where_clause


def test_params_hand_out_placeholders_in_order_and_keep_the_values():
    arg = Params()
    assert (arg("a"), arg(2), arg(None)) == ("$1", "$2", "$3")
    assert arg.values == ["a", 2, None]


def test_where_clause_joins_conditions_or_is_empty():
    assert where_clause([]) == ""
    assert where_clause(iter(["a = $1"])) == " WHERE a = $1"
    assert where_clause(["a = $1", "b = ANY($2::text[])"]) == " WHERE a = $1 AND b = ANY($2::text[])"


def test_a_value_that_looks_like_sql_stays_a_parameter():
    arg = Params()
    hostile = "x'; DROP TABLE appeal_tasks; --"
    clause = where_clause([f"t.claim_id = {arg(hostile)}"])
    assert clause == " WHERE t.claim_id = $1" and arg.values == ["x'; DROP TABLE appeal_tasks; --"]
