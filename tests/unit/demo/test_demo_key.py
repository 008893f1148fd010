"""The demo's own identifier key: written once to the data directory (the user's eyes only) and reused, never
written when the settings name a key already."""

from __future__ import annotations

import stat

from service.adapters.identifiers import IdentifierVault
from service.config import PHI_KEY_FILE_NAME, Settings
from service.demo.keys import ensure_demo_key, key_problem
from tests.support.identifiers import SESSION_PHI_KEY


def test_the_demo_writes_its_key_once_readable_by_the_user_only_and_reuses_it(tmp_path):
    settings = Settings(DENIALS_DATA_DIR=str(tmp_path / "data"), database_url=None)
    path = ensure_demo_key(settings)
    assert path == tmp_path / "data" / PHI_KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert IdentifierVault([key]).key_count == 1
    assert ensure_demo_key(settings) == path and path.read_text().strip() == key
    # every later command on the embedded database finds it
    assert Settings(DENIALS_DATA_DIR=str(tmp_path / "data"), database_url=None).phi_keys == (key,)


def test_a_configured_key_wins_and_no_file_is_written(tmp_path):
    settings = Settings(DENIALS_DATA_DIR=str(tmp_path), DENIALS_PHI_KEY=SESSION_PHI_KEY)
    assert ensure_demo_key(settings) is None
    assert not (tmp_path / PHI_KEY_FILE_NAME).exists()


class _Rows:
    """A connection holding `claim_identifiers` rows (what `sample_readable` reads)."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    async def fetch(self, query: str, *args):
        return self.rows


def _row(key: str) -> dict:
    vault = IdentifierVault([key])
    return {"name_enc": vault.encrypt("name", "DOE, JANE"), "member_id_enc": vault.encrypt("member_id", "M-1"),
            "birth_date_enc": None}


async def test_a_new_demo_key_next_to_a_database_an_earlier_key_filled_is_refused(tmp_path):
    # the data directory was made afresh (its phi.key is new) but the database kept an earlier run's identifiers
    earlier = IdentifierVault([SESSION_PHI_KEY])
    assert earlier.key_count == 1
    path = ensure_demo_key(Settings(DENIALS_DATA_DIR=str(tmp_path / "data"), database_url=None))
    problem = await key_problem(_Rows([_row(SESSION_PHI_KEY)]), path)
    assert problem is not None and "cannot open" in problem and "DOE" not in problem


async def test_the_demo_key_on_its_own_or_an_empty_database_is_fine(tmp_path):
    path = ensure_demo_key(Settings(DENIALS_DATA_DIR=str(tmp_path / "data"), database_url=None))
    assert await key_problem(_Rows([]), path) is None
    assert await key_problem(_Rows([_row(path.read_text().strip())]), path) is None
