"""The checked-in JSON Schemas are exactly what the models generate; the catalogue covers every topic."""

from __future__ import annotations

import json

import pytest

from topics import schemas
from topics.catalogue import CATALOGUE, FOLLOWUP_KINDS, followup_topic


@pytest.mark.parametrize("topic", sorted(CATALOGUE))
def test_checked_in_schema_matches_the_model(topic):
    path = schemas.SCHEMA_DIR / f"{topic}.json"
    assert path.exists(), f"missing {path.name}: run `python -m topics.schemas`"
    assert json.loads(path.read_text()) == json.loads(schemas.render(topic)), (
        f"{path.name} drifted from the model: run `python -m topics.schemas` and review the diff")


def test_no_stale_schema_files():
    on_disk = {p.name.removesuffix(".json") for p in schemas.SCHEMA_DIR.glob("*.json")}
    assert on_disk == set(CATALOGUE)


def test_every_design_topic_is_in_the_catalogue():
    expected = {"claims.status.v1", "claims.remittance.v1", "remittance.provider-adjustments.v1", "x12.inbound.v1",
                "denials.classified.v1", "appeals.tasks.v1", "deadletter.v1",
                *(followup_topic(k) for k in FOLLOWUP_KINDS)}
    assert set(CATALOGUE) == expected
    assert all(spec.partitions >= 1 and spec.key for spec in CATALOGUE.values())
    assert {spec.key for spec in CATALOGUE.values() if spec.name.startswith(("claims.", "followups.", "appeals."))} \
        == {"claim_id"}
