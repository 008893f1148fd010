"""The demo's own identifier key: written once to the data directory (the user's eyes only) and reused, never
written when the settings name a key already."""

from __future__ import annotations

import stat

from service.adapters.identifiers import IdentifierVault
from service.config import PHI_KEY_FILE_NAME, Settings
from service.demo.keys import ensure_demo_key
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
