"""The worker's collector settings: startup objects frozen, thresholds from DENIALS_GC_THRESHOLD."""

from __future__ import annotations

import gc

import pytest
from pydantic import ValidationError

from service import gc_tuning
from service.config import Settings


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tune_freezes_the_objects_alive_now_and_sets_the_thresholds(restore_gc):
    kept = [object() for _ in range(10)] + [{"a": 1}]  # noqa: F841 - alive across the freeze
    gc_tuning.tune("12345,7,3")
    assert gc.get_threshold() == (12345, 7, 3)
    assert gc.get_freeze_count() > 0


def test_the_default_threshold_is_valid_and_parsed():
    assert gc_tuning.parse_threshold(Settings().gc_threshold) == (50000, 20, 100)
    assert gc_tuning.parse_threshold(" 700 ") == (700,)


def test_a_malformed_threshold_is_rejected_at_start(monkeypatch):
    monkeypatch.setenv("DENIALS_GC_THRESHOLD", "lots")
    with pytest.raises(ValidationError, match="DENIALS_GC_THRESHOLD"):
        Settings()
