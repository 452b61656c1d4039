"""Setting the server up: its personal-data key, its tables, the registration commands."""

from __future__ import annotations

import pytest
from county_helpers import APPLICANT_ID, TOWNSHIP, package
from fastapi.testclient import TestClient

from app.security.keystore import KeyStore, MemoryKeyring, PassphraseError
from sync.protocol import HandoffPackage
from sync.server import store
from sync.server.__main__ import main
from sync.server.app import create_app
from sync.server.context import open_server
from sync.server.migrations import migrate_county
from sync.server.packages import seal, unseal

PASSPHRASE = "县级服务器口令-2026"


def test_key_wrapped_under_a_passphrase_survives_a_restart(db_url, tmp_path):
    first = open_server(db_url, tmp_path, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    sealed = seal(first.cipher, HandoffPackage.model_validate(package()))
    first.db.close()
    again = open_server(db_url, tmp_path, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    assert unseal(again.cipher, sealed).applicant.id_number == APPLICANT_ID
    assert again.digest_key == first.digest_key
    again.db.close()
    with pytest.raises(PassphraseError):
        open_server(db_url, tmp_path, keystore=None, ask_passphrase=lambda: "wrong-passphrase")


def test_key_kept_in_the_keyring_is_found_again(db_url, tmp_path):
    keyring = KeyStore(backend=MemoryKeyring())
    first = open_server(db_url, tmp_path, keystore=keyring, ask_passphrase=None)
    first.db.close()
    again = open_server(db_url, tmp_path, keystore=keyring, ask_passphrase=None)
    assert again.digest_key == first.digest_key
    with again.db.connection_context():
        assert store.get_setting("wrapped_master_key") is None
    again.db.close()


def test_tables_are_created_once_and_kept(db_url, tmp_path):
    db = store.open_database(db_url)
    migrate_county(db)
    assert main(["--db", db_url, "township-add", TOWNSHIP, "青禾镇"]) == 0
    migrate_county(db)
    with db.connection_context():
        assert store.CountyTownshipRecord.select().count() == 1
    db.close()


def test_commands_issue_credentials_that_work(db_url, tmp_path, capsys):
    assert main(["--db", db_url, "township-add", TOWNSHIP, "青禾镇"]) == 0
    credential = capsys.readouterr().out.strip().splitlines()[-1]
    assert credential.startswith(f"bjt.{TOWNSHIP}.")
    assert main(["--db", db_url, "township-add", TOWNSHIP, "青禾镇"]) == 2
    assert "已登记" in capsys.readouterr().err
    assert main(["--db", db_url, "staff-add", "admin1", "县管理员", "--role", "admin"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    server = open_server(db_url, tmp_path, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    client = TestClient(create_app(server))
    headers = {"Authorization": f"Bearer {credential}"}
    assert client.get("/api/v1/events", headers=headers).status_code == 200
    assert (
        client.get("/api/v1/county/stats", headers={"Authorization": f"Bearer {token}"}).json()[0][
            "name"
        ]
        == "青禾镇"
    )
    server.db.close()
