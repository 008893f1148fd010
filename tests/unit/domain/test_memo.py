"""The bounded memo behind the hot path's lookups: answers are kept until the limit, then forgotten all at once."""

from service.domain.memo import Memo


def test_a_kept_answer_is_read_back_and_returned_when_kept():
    memo = Memo(3)
    assert memo.keep("a", None) is None
    assert "a" in memo and memo.get("a") is None  # None is an answer too (a code with no row)


def test_reaching_the_limit_forgets_everything_before_keeping_the_next():
    memo = Memo(2)
    memo.keep("a", 1)
    memo.keep("b", 2)
    memo.keep("c", 3)
    assert dict(memo) == {"c": 3}
