"""denials_consumer_lag: high watermark minus committed offset, per assigned partition."""

from __future__ import annotations

from collections import namedtuple

from service.adapters.metrics import ConsumerCollector

TP = namedtuple("TP", "topic partition")


class FakeConsumer:
    """The three things the collector reads from faust's consumer."""

    def __init__(self, highs: dict, committed: dict) -> None:
        self._highs = highs
        self._committed_offset = committed

    def assignment(self):
        return set(self._highs)

    def highwater(self, tp):
        if self._highs[tp] is None:
            raise KeyError(tp)  # faust: no fetch response for this partition yet
        return self._highs[tp]


def test_lag_is_the_high_watermark_minus_the_committed_offset_and_zero_for_an_empty_partition():
    remit = "claims.remittance.v1"
    highs = {TP(remit, 0): 120, TP(remit, 1): 0, TP(remit, 2): 40, TP(remit, 3): None}
    committed = {TP(remit, 0): 100}
    lags = ConsumerCollector(lambda: FakeConsumer(highs, committed)).lags()
    assert (remit, 0, 20) in lags
    assert (remit, 1, 0) in lags  # empty, never committed: nothing to catch up on
    # records but no commit yet, or no fetch yet: no sample rather than a guess
    assert {p for _, p, _ in lags} == {0, 1}


def test_no_consumer_means_no_samples():
    assert ConsumerCollector(lambda: None).lags() == []
