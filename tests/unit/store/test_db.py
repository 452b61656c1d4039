"""Opening databases: network shares refused, SQLite pragmas, URL parsing and redaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee as pw
import pytest

from app.domain.errors import KnownError
from app.store import db as dbmod
from app.store.models import StationRecord, TownshipRecord


@pytest.fixture
def mounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake /proc/mounts: local root, an NFS and a CIFS share, a local disk inside the NFS one."""
    base = tmp_path.resolve()
    spaced = str(base / "with space").replace(" ", "\\040")
    fake = tmp_path / "mounts"
    fake.write_text(
        "\n".join(
            [
                "/dev/sda1 / ext4 rw,relatime 0 0",
                f"server:/export {base}/nfs nfs4 rw,vers=4.2 0 0",
                f"//fileserver/share {base}/smb cifs rw 0 0",
                f"/dev/sdb1 {base}/nfs/local ext4 rw 0 0",
                f"server:/other {spaced} nfs rw 0 0",
                "garbage",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(dbmod, "MOUNTS_FILE", fake)
    return base


@pytest.mark.parametrize(
    ("relative", "network"),
    [
        ("nfs/county/bujianmian.sqlite3", True),
        ("smb/bujianmian.sqlite3", True),
        ("with space/bujianmian.sqlite3", True),
        ("nfs/local/bujianmian.sqlite3", False),
        ("nfsish/bujianmian.sqlite3", False),
        ("local/bujianmian.sqlite3", False),
    ],
)
def test_network_mounts_are_detected(mounts: Path, relative: str, network: bool):
    assert dbmod.is_network_path(mounts / relative) is network


def test_unreadable_mounts_file_means_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dbmod, "MOUNTS_FILE", tmp_path / "missing")
    assert not dbmod.is_network_path(tmp_path / "x.sqlite3")


@pytest.mark.parametrize("text", ["//server/share/x.sqlite3", "\\\\server\\share\\x.sqlite3"])
def test_unc_paths_are_network_paths(text: str):
    assert dbmod.is_network_path(Path(text))


def test_make_database_refuses_a_network_share(mounts: Path):
    target = mounts / "nfs" / "county" / "bujianmian.sqlite3"
    with pytest.raises(KnownError) as err:
        dbmod.make_database(f"sqlite:///{target}")
    assert err.value.code == "network_share"
    assert "网络共享目录" in err.value.message and "PostgreSQL" in err.value.message
    assert not target.parent.exists()


def test_make_database_refuses_a_unc_url():
    with pytest.raises(KnownError) as err:
        dbmod.make_database("sqlite://///server/share/x.sqlite3")
    assert err.value.code == "network_share"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[pw.Database]:
    previous = dbmod.database_proxy.obj
    db = dbmod.make_database(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite3'}")
    db.connect()
    dbmod.bind(db)
    yield db
    db.close()
    if previous is not None:
        dbmod.bind(previous)


def _pragma(db: pw.Database, name: str) -> object:
    return db.execute_sql(f"PRAGMA {name}").fetchone()[0]


def test_sqlite_pragmas_on_an_opened_runtime(tmp_path: Path, keystore):
    from app.services.runtime import open_runtime

    rt = open_runtime(tmp_path / "data", f"sqlite:///{tmp_path / 'rt.sqlite3'}", keystore=keystore)
    try:
        assert _pragma(rt.db, "journal_mode") == "wal"
        assert _pragma(rt.db, "synchronous") == 2
        assert _pragma(rt.db, "foreign_keys") == 1
        with pytest.raises(pw.IntegrityError):
            StationRecord.create(township=9999, code="minzheng", name="民政办")
    finally:
        rt.close()


def test_make_database_creates_the_parent_directory(sqlite_db, tmp_path: Path):
    assert (tmp_path / "sub" / "x.sqlite3").exists()
    assert not dbmod.is_postgres(sqlite_db)


def test_write_transaction_rolls_back_on_error(sqlite_db):
    sqlite_db.create_tables([TownshipRecord])
    with pytest.raises(KnownError), dbmod.write_transaction():
        TownshipRecord.create(code="370999101", name="青禾镇", county_code="370999",
                              county_name="青禾县")  # fmt: skip
        raise KnownError("中途失败")
    assert TownshipRecord.select().count() == 0


@pytest.mark.parametrize(
    "url",
    ["mysql://u:secret@host/db", "sqlite:relative.db", "sqlite:///", "/tmp/x.sqlite3", ""],
)
def test_bad_url_scheme_gives_a_chinese_error(url: str):
    with pytest.raises(KnownError) as err:
        dbmod.make_database(url)
    assert err.value.code == "bad_url"
    assert "数据库地址" in err.value.message and "sqlite:///" in err.value.message
    assert "secret" not in err.value.message


def test_postgres_url_is_parsed_without_connecting():
    db = dbmod.make_database("postgresql://clerk:p%40ss@db.example:6543/bjm?sslmode=require")
    assert isinstance(db, pw.PostgresqlDatabase) and dbmod.is_postgres(db)
    assert db.database == "bjm"
    params = db.connect_params
    assert (params["user"], params["password"], params["host"]) == ("clerk", "p@ss", "db.example")
    assert (params["port"], params["sslmode"]) == (6543, "require")
    assert db.is_closed()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://clerk:secret@h:5432/db", "postgresql://clerk:***@h:5432/db"),
        ("postgresql://clerk:p%40ss@h/db", "postgresql://clerk:***@h/db"),
        ("postgresql://clerk@h/db?sslmode=require&password=secret",
         "postgresql://clerk@h/db?sslmode=require&password=***"),
        ("postgresql://clerk@h/db?PASSWORD=secret", "postgresql://clerk@h/db?PASSWORD=***"),
        ("postgresql://clerk@h/db", "postgresql://clerk@h/db"),
        ("sqlite:////data/bujianmian.sqlite3", "sqlite:////data/bujianmian.sqlite3"),
    ],
)  # fmt: skip
def test_redact_url_hides_passwords(url: str, expected: str):
    assert dbmod.redact_url(url) == expected


def test_default_url_is_sqlite_in_the_data_dir(tmp_path: Path):
    url = dbmod.default_url(tmp_path)
    assert dbmod.sqlite_path(url) == tmp_path / "bujianmian.sqlite3"
    assert dbmod.sqlite_path("postgresql://h/db") is None
