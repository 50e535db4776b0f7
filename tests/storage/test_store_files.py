"""Issue 14, finding 10: the store's files, foreign files, damage and a disk that says no.

Real files throughout: permissions are read back from the file system, damage is done by
overwriting pages of a real store, and a full disk is SQLite's own ``SQLITE_FULL``
(``PRAGMA max_page_count``); tests/cli/test_store_health_cli.py repeats the disk cases
with real processes on a small tmpfs.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskcli.domain.intake import NewTicket
from deskcli.storage import health
from deskcli.storage.migrations import MIGRATIONS
from deskcli.storage.store import Store, StoreDamaged, StoreError
from helpers import FakeClock, SeqIds, make_desk


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def open_store(path: Path, **options: object) -> Store:
    ids = SeqIds()
    return Store.open(path, ids=ids, now_ms=lambda: 1_790_000_000_000,
                      now_iso=lambda: "2026-11-24T09:00:00Z", **options)  # type: ignore[arg-type]


def add_tickets(root: Path, count: int, clock: FakeClock | None = None) -> None:
    with make_desk(root, clock) as desk:
        for n in range(count):
            desk.tickets.create(NewTicket(summary=f"VPN drops every {n + 2} minutes",
                                          caller=f"Caller {n}", client="Acme",
                                          verbatim="It keeps disconnecting. " * 20))


# --- permissions -------------------------------------------------------------------------


def test_store_files_are_private_even_with_umask_022(tmp_path: Path, umask_022: None) -> None:
    root = tmp_path / "profile"
    with make_desk(root) as desk:
        desk.tickets.create(NewTicket(summary="Printer offline", caller="Ann Lee"))
        data = desk.paths.data_dir
        database = desk.paths.database
        # While the store is open SQLite keeps its log and index beside it: same mode.
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert mode(path) == 0o600, path
    assert mode(data) == 0o700 and mode(root) == 0o700
    assert mode(database) == 0o600


def test_a_store_left_world_readable_by_an_older_version_is_narrowed(tmp_path: Path) -> None:
    with make_desk(tmp_path):
        pass
    database = tmp_path / "data" / "deskcli.db"
    os.chmod(database, 0o644)
    os.chmod(tmp_path / "data", 0o755)
    with make_desk(tmp_path):
        pass
    assert mode(database) == 0o600 and mode(tmp_path / "data") == 0o700


def test_drafts_are_private(tmp_path: Path, umask_022: None) -> None:
    from deskcli.services.drafts import DraftStore

    folder = tmp_path / "data" / "drafts"
    DraftStore(folder).save("new", {"caller_name": "Ann Lee", "verbatim": "it broke"})
    assert mode(folder) == 0o700
    assert [mode(p) for p in folder.iterdir()] == [0o600]


def test_server_database_is_private(tmp_path: Path, umask_022: None) -> None:
    from deskcli.server.db import init_database, make_engine, sqlite_url

    engine = make_engine(sqlite_url(tmp_path / "srv" / "server.db"))
    init_database(engine)
    engine.dispose()
    assert mode(tmp_path / "srv") == 0o700
    assert mode(tmp_path / "srv" / "server.db") == 0o600
    elsewhere = tmp_path / "admin-chosen" / "desk.db"
    engine = make_engine(f"sqlite:///{elsewhere}")
    init_database(engine)
    engine.dispose()
    assert mode(elsewhere) == 0o600 and mode(elsewhere.parent) == 0o700


# --- foreign files -----------------------------------------------------------------------


def test_an_sqlite_file_of_another_program_is_refused_and_left_untouched(
        tmp_path: Path) -> None:
    path = tmp_path / "data" / "deskcli.db"
    path.parent.mkdir()
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    other.execute("INSERT INTO photos(name) VALUES ('holiday.jpg')")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(health.ForeignDatabase, match="some other program.*photos"):
        open_store(path)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_a_file_with_another_application_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("PRAGMA application_id = 1196444487")  # 'GPKG': a GeoPackage
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(health.ForeignDatabase, match="another program.*0x47504b47"):
        open_store(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(health.ForeignDatabase, match="not an SQLite file"):
        open_store(path)
    assert path.read_text().startswith("these are my notes")


def test_a_store_written_before_the_application_id_still_opens(tmp_path: Path) -> None:
    """Older deskcli versions set no application id: such a store is recognised by its
    tables, opens, upgrades and gets the id."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    for number, _description, script in MIGRATIONS[:3]:  # as a version-3 deskcli left it
        old.executescript(script)
        old.execute(f"PRAGMA user_version = {number}")
    old.execute("INSERT INTO meta VALUES ('client_id', 'a1b2c3d4e5f6')")
    old.close()
    store = open_store(path)
    try:
        assert store.client_id == "a1b2c3d4e5f6"
        assert store.schema_version == MIGRATIONS[-1][0]
    finally:
        store.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA application_id").fetchone()[0] == health.APPLICATION_ID
    check.close()


def test_a_new_store_carries_the_application_id(tmp_path: Path) -> None:
    store = open_store(tmp_path / "new.db")
    store.close()
    check = sqlite3.connect(tmp_path / "new.db")
    assert check.execute("PRAGMA application_id").fetchone()[0] == health.APPLICATION_ID
    check.close()


# --- damage ------------------------------------------------------------------------------


def corrupt_pages(path: Path, first_fraction: float = 0.4, pages: int = 6) -> None:
    """Overwrite whole pages in the middle of the file with garbage (not page 1)."""
    size = path.stat().st_size
    page = 4096
    start = max(2, int(size / page * first_fraction))
    with open(path, "r+b") as file:
        for number in range(start, start + pages):
            file.seek(number * page)
            file.write(bytes((number * 37 + i) % 251 for i in range(page)))


def test_a_damaged_store_is_refused_with_the_way_to_recover(tmp_path: Path) -> None:
    add_tickets(tmp_path, 200)
    database = tmp_path / "data" / "deskcli.db"
    corrupt_pages(database)
    with pytest.raises(StoreDamaged, match="doctor --salvage"):
        open_store(database, check=True)
    assert health.marker_path(database).exists()
    # The marker keeps refusing, without a check, on every later open.
    with pytest.raises(StoreDamaged, match="will not write"):
        open_store(database)
    # Doctor's view: read-only, with the damage named; a write is refused.
    store = open_store(database, allow_damaged=True)
    try:
        assert store.damage
        with pytest.raises(StoreDamaged), store.transaction():
            pass
    finally:
        store.close()


def test_salvage_copies_what_can_be_read_into_a_sound_store(tmp_path: Path) -> None:
    from deskcli.paths import Paths
    from deskcli.services.doctor import salvage_store

    add_tickets(tmp_path, 200)
    database = tmp_path / "data" / "deskcli.db"
    corrupt_pages(database)
    paths = Paths(tmp_path / "data", tmp_path / "config")
    result = salvage_store(paths, "20261124T090000Z")
    assert result is not None and result.kept_at.exists()
    assert 0 < result.copied["tickets"] <= 200
    assert not health.marker_path(database).exists()
    store = open_store(database, check=True)
    try:
        assert store.damage is None and store.tickets.count() == result.copied["tickets"]
    finally:
        store.close()
    with make_desk(tmp_path) as desk:  # and it takes new work
        desk.tickets.create(NewTicket(summary="Monitor flickers", caller="Bo Li"))
    assert salvage_store(paths, "later") is None  # sound now: nothing to do


# --- the disk says no --------------------------------------------------------------------


def test_a_full_disk_says_so_and_writes_nothing(tmp_path: Path) -> None:
    add_tickets(tmp_path, 2)
    with make_desk(tmp_path) as desk:
        before = desk.store.tickets.count()
        pages = desk.store.db.execute("PRAGMA page_count").fetchone()["page_count"]
        desk.store.db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(health.DiskProblem, match="disk holding .* is full") as caught:
            desk.tickets.create(NewTicket(summary="Shared drive missing",
                                          caller="Cy Roe",
                                          verbatim="x" * 200_000))
        assert "no transaction is active" not in str(caught.value)
    with make_desk(tmp_path) as desk:
        assert desk.store.tickets.count() == before


@pytest.mark.parametrize(("number", "expected"), [
    (errno.ENOSPC, "is full"), (errno.EROFS, "read-only disk"),
    (errno.EACCES, "permission denied")])
def test_os_errors_are_named(tmp_path: Path, number: int, expected: str) -> None:
    error = health.explain(OSError(number, os.strerror(number)), tmp_path / "deskcli.db")
    assert expected in str(error)


def test_a_read_only_sqlite_error_on_a_file_we_cannot_write_is_permission_denied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error = sqlite3.OperationalError("attempt to write a readonly database")
    error.sqlite_errorcode = 8  # type: ignore[attr-defined]
    monkeypatch.setattr(health, "_writable", lambda path: False)
    assert "permission denied" in str(health.explain(error, tmp_path / "deskcli.db"))
    monkeypatch.setattr(health, "_read_only_disk", lambda path: True)
    assert "read-only disk" in str(health.explain(error, tmp_path / "deskcli.db"))


def test_a_constraint_error_is_not_mistaken_for_the_disk(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    try:
        with pytest.raises(sqlite3.IntegrityError), store.transaction():
            store.db.execute("INSERT INTO meta(key, value) VALUES ('k', NULL)")
        assert not isinstance(health.explain(sqlite3.IntegrityError("x"), None), health.DiskProblem)
    finally:
        store.close()


def test_store_error_is_still_importable_from_store(tmp_path: Path) -> None:
    assert issubclass(health.DiskProblem, StoreError)


def test_content_is_never_stored_under_a_hash_it_does_not_have(tmp_path: Path) -> None:
    """A synced attachment whose bytes do not hash to its name would stand in for the
    real file forever (blobs are content-addressed): refused by name, nothing stored."""
    import hashlib

    store = open_store(tmp_path / "s.db")
    try:
        real = hashlib.sha256(b"screenshot").hexdigest()
        with pytest.raises(health.ContentMismatch, match="does not match its SHA-256"), \
                store.transaction():
            store.attachments.put_blob(real, b"something else")
        assert store.attachments.blob(real) is None
        with store.transaction():
            store.attachments.put_blob(real, b"screenshot")
        assert store.attachments.blob(real) == b"screenshot"
    finally:
        store.close()


def test_doctor_reports_a_token_from_the_environment(tmp_path: Path) -> None:
    from deskcli.paths import Paths
    from deskcli.services.doctor import run_checks
    from deskcli.sync.credentials import load

    add_tickets(tmp_path, 1)
    checks = run_checks(Paths(tmp_path / "data", tmp_path / "config"),
                        {"DESKCLI_SERVER": "https://desk.example.com",
                         "DESKCLI_TOKEN": "dsk_x", "DESKCLI_TECH": "dana"},
                        find_token=load)
    by_topic = {check.topic: check for check in checks}
    assert by_topic["credentials"].status == "ok"
    assert "environment" in by_topic["credentials"].detail
    assert not any(check.failed for check in checks)
