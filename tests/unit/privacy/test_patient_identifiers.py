"""The patient identifiers on their way to the store, without I/O: the contract's values reach the batch's changes
(once per claim and payer, the newest values first), never a repr or a log line; the vault encrypts, decrypts with
any listed key and digests with the first; the settings read the keys once (a list, a file, the embedded
database's file) and refuse a malformed one without echoing it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.fernet import InvalidToken

from service.adapters.clock import SystemClock
from service.adapters.identifiers import IdentifierVault, fold, new_key
from service.config import PHI_KEY_FILE_NAME, Settings
from service.domain.model import PatientIdentifiers
from service.errors import ConfigurationError
from service.privacy import Pseudonymizer
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from service.service_layer.unit_of_work import IdentifiersSeen
from tests.support import events
from tests.support.identifiers import OTHER_PHI_KEY, SESSION_PHI_KEY
from tests.unit.service_layer.fakes import FakeUnitOfWork, TableClassifier
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

NAME, MEMBER, BIRTH = "QUILL, ODETTE", "1EG4TE5MK72", "1949-11-23"
PATIENT = {"member_id": MEMBER, "patient_ref": "MRN-1", "name": NAME, "birth_date": BIRTH}


def _remit(event_id: str, patient: dict, occurred: str = "2026-03-02T14:05:00Z"):
    record = events.remittance(event_id, "PC-1", patient=patient, occurred_at=occurred)
    return mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record)))


def _submission(patient: dict):
    record = events.submitted("st-1", "PC-1")
    record["claim"]["patient"] = patient
    return mapping.status_event(StatusEvent.model_validate_json(json.dumps(record)))


def test_the_contracts_identifiers_reach_the_domain_event_but_never_its_repr():
    remit, sub = _remit("rm-1", PATIENT), _submission(PATIENT)
    assert remit.patient == PatientIdentifiers(NAME, MEMBER, dt.date(1949, 11, 23)) == sub.patient
    for text in (repr(remit), str(remit), repr(sub), repr(remit.patient), f"{remit.patient}"):
        assert NAME not in text and MEMBER not in text and BIRTH not in text
    assert repr(remit.patient) == "PatientIdentifiers(<name, member_id, birth_date withheld>)"
    assert _remit("rm-2", {"patient_ref": "MRN-1"}).patient is None  # nothing to store


async def test_a_batch_hands_each_records_identifiers_to_the_store_with_its_claim_payer_and_time():
    uow = FakeUnitOfWork()
    await process_batch([Inbound("claims.status.v1", _submission(PATIENT), 0, 0),
                         Inbound("claims.remittance.v1", _remit("rm-1", {**PATIENT, "birth_date": None}), 0, 1)],
                        uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    seen = [(s.claim_id, s.payer_id, s.patient.present) for ch in uow.saved for s in ch.identifiers]
    assert seen == [("PC-1", "BCBS-TX", ("name", "member_id", "birth_date")),
                    ("PC-1", "BCBS-TX", ("name", "member_id"))]


def test_folding_a_batch_keeps_the_newest_value_of_each_field_and_the_older_ones_it_lacks():
    at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    older = IdentifiersSeen("C", "P", at, PatientIdentifiers(NAME, "OLD", dt.date(1949, 11, 23)))
    newer = IdentifiersSeen("C", "P", at + dt.timedelta(days=1), PatientIdentifiers(None, "NEW", None))
    other = IdentifiersSeen("C", "Q", at, PatientIdentifiers(None, "Q-1", None))
    (c_p, c_q) = sorted(fold([newer, other, older]), key=lambda f: f.payer_id)
    assert c_p.patient == PatientIdentifiers(NAME, "NEW", dt.date(1949, 11, 23)) and c_p.at == newer.at
    assert c_q.patient.member_id == "Q-1"


def test_the_vault_encrypts_each_value_afresh_decrypts_with_any_listed_key_and_digests_with_the_first():
    vault = IdentifierVault([SESSION_PHI_KEY])
    one, two = vault.encrypt("name", NAME), vault.encrypt("name", NAME)
    assert one != two and NAME.encode() not in one  # a fresh IV each time: equal values do not look equal
    assert vault.decrypt("birth_date", vault.encrypt("birth_date", dt.date(1949, 11, 23))) == dt.date(1949, 11, 23)
    assert vault.digest("name", NAME) == vault.digest("name", NAME) != vault.digest("member_id", NAME)
    rotated = IdentifierVault([OTHER_PHI_KEY, SESSION_PHI_KEY])
    assert rotated.decrypt("name", one) == NAME  # the old key still reads
    assert rotated.digest("name", NAME) != vault.digest("name", NAME)  # digests follow the first key
    with pytest.raises(InvalidToken):
        IdentifierVault([OTHER_PHI_KEY]).decrypt("name", one)


def test_a_malformed_key_is_refused_without_echoing_it():
    with pytest.raises(ConfigurationError) as err:
        IdentifierVault(["not-a-key-ZEBRA"])
    assert "ZEBRA" not in str(err.value) and "denials identifiers new-key" in str(err.value)
    assert IdentifierVault([new_key()]).key_count == 1


def test_the_settings_read_a_key_list_a_key_file_or_the_embedded_databases_file(tmp_path):
    assert Settings(DENIALS_PHI_KEY=f" {SESSION_PHI_KEY} , {OTHER_PHI_KEY} ").phi_keys == (SESSION_PHI_KEY,
                                                                                          OTHER_PHI_KEY)
    keyfile = tmp_path / "keys"
    keyfile.write_text(f"{OTHER_PHI_KEY}\n{SESSION_PHI_KEY}\n")
    assert Settings(DENIALS_PHI_KEY_FILE=str(keyfile)).phi_keys == (OTHER_PHI_KEY, SESSION_PHI_KEY)
    (tmp_path / PHI_KEY_FILE_NAME).write_text(SESSION_PHI_KEY + "\n")
    embedded = Settings(DENIALS_DATA_DIR=str(tmp_path), database_url=None)
    assert embedded.phi_keys == (SESSION_PHI_KEY,)
    # a configured server never picks up a stray key file from the data directory
    assert Settings(DENIALS_DATA_DIR=str(tmp_path), database_url="postgresql://db/denials").phi_keys == ()
    assert SESSION_PHI_KEY not in repr(Settings(DENIALS_PHI_KEY=SESSION_PHI_KEY))
