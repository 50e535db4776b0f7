"""The local SQLite store: its connection, its transaction, its schema and its write path.

Writes happen inside ``Store.transaction()``, a ``BEGIN IMMEDIATE`` transaction. Each write
method here records its sync op in the outbox in that same transaction, so a crash at any
instant leaves the row and its op both written or both absent, and no front end can
forget to record an op. The store applies no business rules: it is told what to write.

Reads and the writes that record no op live in rooms, one module per concern, each a class
that runs its SQL on the one shared connection (``store.db``) and calls
``store.require_tx()`` before writing. The store builds each on first use and exposes them:
``store.tickets``, ``store.contacts``, ``store.queue``, ``store.timeline``,
``store.attachments``, ``store.kb``, ``store.metrics`` and ``store.sync``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskcli.domain import hlc as hlc_mod

from . import health
from .bulk_load import restore_deferred
from .health import StoreDamaged, StoreError
from .migrations import LATEST, MIGRATIONS
from .queue import OPEN_STATUSES
from .rows import Row

if TYPE_CHECKING:  # the rooms load on first use (``Store.tickets`` and the rest)
    from .attachments import Attachments
    from .contacts import Contacts
    from .kb import KnowledgeBase
    from .metrics import Metrics
    from .queue import Queue
    from .sync_state import SyncState
    from .tickets import Tickets
    from .timeline import Timeline

__all__ = ["OPEN_STATUSES", "Row", "SchemaTooNew", "Store", "StoreDamaged", "StoreError"]

#: Ticket columns computed from others on every write; they never travel as sync ops,
#: each replica recomputes them with the domain's SLA rules.
DERIVED_TICKET_COLUMNS = frozenset({
    "response_due", "response_risk_at", "resolve_due", "resolve_risk_at", "urgency_due",
    "updated_at",
})

APPEND_ONLY = ("events", "notes", "time_entries", "step_records", "attachments",
               "csat_responses", "kb_versions", "kb_links", "tag_changes")
#: Table -> the entity name its ops carry on the wire (sync/protocol.py derives from this).
TABLE_ENTITY = {"events": "event", "notes": "note", "time_entries": "time_entry",
           "step_records": "step_record", "attachments": "attachment",
           "csat_responses": "csat_response",
           "clients": "client", "callers": "caller", "tickets": "ticket",
           "kb_articles": "kb_article", "kb_versions": "kb_version", "kb_links": "kb_link",
           "tag_changes": "tag_change"}


class SchemaTooNew(StoreError):
    pass


def split_statements(script: str) -> Iterator[str]:
    """The statements of a migration script, whole: a trigger's body holds semicolons, so
    a statement ends only where ``sqlite3.complete_statement`` says it does."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending.strip()
            pending = ""
    if pending.strip(" \n;"):
        yield pending.strip()


def _dict_factory(cursor: sqlite3.Cursor, row: Sequence[Any]) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


#: ``meta`` keys every op reads (the clock and the sync cursor): kept in memory for the
#: length of a transaction (``Store.meta``).
_TX_META = frozenset({"hlc", "sync_cursor"})


class Store:
    """One SQLite file. Open with ``Store.open(path)``; close when done."""

    def __init__(self, connection: sqlite3.Connection, path: Path,
                 ids: Callable[[], str], now_ms: Callable[[], int]) -> None:
        self._db = connection
        self.path = path
        self._new_id = ids
        self._now_ms = now_ms
        self._in_tx = False
        #: Inside a transaction: the clock stamp and the sync cursor as last read or
        #: written in it (``_TX_META``). Every op reads both; nothing else can change them
        #: while this connection holds the write lock, so they are read once per
        #: transaction and the clock is written once, just before COMMIT.
        self._tx_meta: dict[str, str | None] = {}
        self._clock_unwritten = False
        #: Sync ops queued on this connection so far (a counter, never reset; an op a
        #: savepoint undid stays counted): two readings around a change that was kept
        #: differ if and only if it queued an op, i.e. changed a synced row.
        self.ops_queued = 0
        #: Called once, inside the transaction, just before the outermost one commits
        #: (the rules run there, so a rule's changes commit with the change that caused
        #: them); cleared at every commit or rollback.
        self.before_commit: list[Callable[[], None]] = []
        #: What ``quick_check`` found wrong, when opened with ``allow_damaged`` (read-only).
        self.damage: str | None = None
        self._counted = False  # whether ``_open_paths`` counts this connection
        self.client_id = self.meta("client_id") or ""

    # --- the rooms: each runs its own SQL on this store's one connection ------------
    # Built, and their modules imported, on first use: a short command touches two or
    # three of the eight (``deskcli queue`` only the queue), and importing them all cost
    # every command a millisecond or two (issue 20).

    @cached_property
    def tickets(self) -> Tickets:
        from .tickets import Tickets

        return Tickets(self)

    @cached_property
    def contacts(self) -> Contacts:
        from .contacts import Contacts

        return Contacts(self)

    @cached_property
    def queue(self) -> Queue:
        from .queue import Queue

        return Queue(self)

    @cached_property
    def timeline(self) -> Timeline:
        from .timeline import Timeline

        return Timeline(self)

    @cached_property
    def attachments(self) -> Attachments:
        from .attachments import Attachments

        return Attachments(self)

    @cached_property
    def kb(self) -> KnowledgeBase:
        from .kb import KnowledgeBase

        return KnowledgeBase(self)

    @cached_property
    def metrics(self) -> Metrics:
        from .metrics import Metrics

        return Metrics(self)

    @cached_property
    def sync(self) -> SyncState:
        from .sync_state import SyncState

        return SyncState(self)

    # --- lifecycle ----------------------------------------------------------------

    #: Paths this process has a connection to: a crash probe on one of them would drop
    #: SQLite's own locks (POSIX releases a process's locks when any descriptor closes).
    _open_paths: dict[Path, int] = {}

    @classmethod
    def open(cls, path: Path, *, ids: Callable[[], str], now_ms: Callable[[], int],
             now_iso: Callable[[], str], migrate_to: int = LATEST,
             check: bool | None = None, allow_damaged: bool = False) -> Store:
        """Open (creating if needed) and upgrade the database at ``path``.

        Refuses a file that is not a deskcli store (``ForeignDatabase``) and a damaged one
        (``StoreDamaged``). The pages are checked with ``PRAGMA quick_check`` after an
        unclean shutdown, or always with ``check=True`` (``deskcli doctor``); with
        ``allow_damaged`` a damaged store opens read-only, with ``store.damage`` saying
        what is wrong, so doctor can report on it. Disk trouble (full, read-only,
        permission denied) raises ``DiskProblem`` naming it.
        """
        from deskcli.paths import narrow, private_dir, private_file

        key = path.absolute()
        try:
            private_dir(path.parent)
            fresh = not path.exists()
            if fresh:
                health.clear_marker(path)  # a new file: an old file's damage is not its
            private_file(path)
            for suffix in ("-wal", "-shm"):  # SQLite gives these the store's own mode
                narrow(path.with_name(path.name + suffix), 0o600)
        except OSError as error:
            raise health.explain(error, path) from None
        damage, recheck = cls._recorded_damage(path)
        if check is None:
            check = recheck or (damage is None and not cls._open_paths.get(key)
                                and health.left_by_a_crash(path))
        connection: sqlite3.Connection | None = None
        counted = False
        try:
            connection = sqlite3.connect(path, isolation_level=None, timeout=10.0,
                                         check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=10000")
            unstamped = health.check_ownership(connection, path)
            if check and not fresh:
                damage = health.quick_check(connection)
                if damage is None:
                    health.clear_marker(path)
                else:
                    health.write_marker(path, damage)
            if damage is not None:
                if not allow_damaged:
                    raise health.damaged_error(path, damage)
                connection.execute("PRAGMA query_only=ON")
                connection.row_factory = _dict_factory
                store = cls(connection, path, ids, now_ms)
                store.damage = damage
                cls._opened(key)
                store._counted = True
                return store
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > LATEST:
                raise SchemaTooNew(
                    f"{path} was written by a newer deskcli (schema {version}, this one "
                    f"knows up to {LATEST}); upgrade deskcli to open it")
            # A large load stopped part-way leaves indexes to build (storage/bulk_load.py).
            restore_deferred(connection, path)
            for number, _description, script in MIGRATIONS:
                if version < number <= migrate_to:
                    cls._apply_migration(connection, number, script)
            if unstamped:
                connection.execute(f"PRAGMA application_id = {health.APPLICATION_ID}")
            connection.row_factory = _dict_factory
            store = cls(connection, path, ids, now_ms)
            cls._opened(key)
            counted = store._counted = True
            if not store.client_id:
                with store.transaction():
                    if not store.meta("client_id"):  # another process may have just set it
                        store._set_meta("client_id", ids().replace("-", "")[-12:])
                        store._set_meta("created_at", now_iso())
                store.client_id = store.meta("client_id") or ""
            return store
        except BaseException as error:
            if counted:
                store.close()
            elif connection is not None:
                connection.close()
            if isinstance(error, sqlite3.Error | OSError):
                raise health.explain(error, path) from None
            raise

    @classmethod
    def _opened(cls, key: Path) -> None:
        cls._open_paths[key] = cls._open_paths.get(key, 0) + 1

    @classmethod
    def _closed(cls, key: Path) -> None:
        left = cls._open_paths.get(key, 0) - 1
        if left > 0:
            cls._open_paths[key] = left
        else:
            cls._open_paths.pop(key, None)

    @staticmethod
    def _recorded_damage(path: Path) -> tuple[str | None, bool]:
        """Damage found earlier in this very file, and whether to check afresh: a file
        moved into its place (a recovered copy) is checked instead of refused."""
        marker = health.read_marker(path)
        if marker is None:
            return None, False
        try:
            inode: int | None = path.stat().st_ino
        except OSError:
            inode = None
        if marker.get("inode") not in (None, inode):
            return None, True
        return str(marker.get("problem") or "damage found earlier"), False

    @staticmethod
    def _apply_migration(connection: sqlite3.Connection, number: int, script: str) -> None:
        # executescript would commit on its own; run statement by statement instead so
        # the schema change and the version bump share one transaction.
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process opening the same new store may have upgraded it while this
            # one waited for the lock (two cron jobs starting at once): do not apply twice.
            if connection.execute("PRAGMA user_version").fetchone()[0] >= number:
                connection.execute("ROLLBACK")
                return
            for statement in split_statements(script):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # SQLite may have rolled back already (disk full)
                connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
        if self._counted:
            self._counted = False
            self._closed(self.path.absolute())

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()["user_version"])

    # --- transactions -------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together, or not at all."""
        if self._in_tx:
            yield self
            return
        if self.damage is not None:
            raise health.damaged_error(self.path, self.damage)
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise health.explain(error, self.path) from None
        self._in_tx = True
        try:
            yield self
            while self.before_commit:
                self.before_commit.pop(0)()
            if self._clock_unwritten:
                self._set_meta("hlc", str(self._tx_meta["hlc"]))
            self._db.execute("COMMIT")
        except BaseException as error:
            # SQLite rolls back by itself on some errors (a full disk): a second ROLLBACK
            # would fail with "no transaction is active" and hide what really happened.
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if health.from_environment(error):
                raise health.explain(error, self.path) from None
            raise
        finally:
            self._in_tx = False
            self.before_commit.clear()
            self._tx_meta.clear()
            self._clock_unwritten = False

    @property
    def db(self) -> sqlite3.Connection:
        """The one connection every room of the store shares, and so one transaction: a
        room module (``storage/outbound.py``, ``storage/mail.py``) runs its SQL on it."""
        return self._db

    def require_tx(self) -> None:
        """Rooms call this before a write: a write outside ``transaction()`` is a bug."""
        if not self._in_tx:
            raise RuntimeError("writes must happen inside Store.transaction()")

    # --- meta and clocks --------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        if self._in_tx and key in self._tx_meta:
            return self._tx_meta[key]
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        value = None if row is None else str(row["value"])
        if self._in_tx and key in _TX_META:
            self._tx_meta[key] = value
        return value

    def _set_meta(self, key: str, value: str) -> None:
        self.require_tx()
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
        if key in _TX_META:
            self._tx_meta[key] = value
            if key == "hlc":
                self._clock_unwritten = False

    def _next_hlc(self) -> str:
        """The next stamp, kept in memory until the transaction commits (``meta`` and
        ``set_meta`` see it): one write of ``meta`` per transaction, not one per op."""
        self.require_tx()
        previous = self.meta("hlc")
        stamp = hlc_mod.tick(hlc_mod.Hlc.decode(previous) if previous else None,
                             self._now_ms(), self.client_id)
        encoded = stamp.encode()
        self._tx_meta["hlc"] = encoded
        self._clock_unwritten = True
        return encoded

    # --- the outbox -------------------------------------------------------------------

    def _op(self, entity: str, entity_id: str, kind: str, field: str | None,
            value: Any, created_at: str) -> None:
        """Queue one sync op and stamp the field's version for last-writer-wins.

        ``base_seq`` is the last server change this store had seen; the server uses it to
        tell a concurrent edit from one made with the other's change in view.
        """
        from .encoding import encode_json  # JSON loads with the first write, not a read

        stamp = self._next_hlc()
        self.ops_queued += 1
        cursor = self.meta("sync_cursor")
        self._db.execute(
            "INSERT INTO outbox(op_id, entity, entity_id, kind, field, value, hlc, base_seq,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._new_id(), entity, entity_id, kind, field,
             encode_json(value), stamp,
             int(cursor) if cursor else None, created_at),
        )
        if kind in ("set", "create"):
            self.sync.set_field_version(entity, entity_id, field or "*", stamp)

    # --- meta written by the sync machinery -------------------------------------------

    def set_meta(self, key: str, value: str | None) -> None:
        self.require_tx()
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            if key in _TX_META:
                self._tx_meta[key] = None
                if key == "hlc":
                    self._clock_unwritten = False
        else:
            self._set_meta(key, value)

    # --- savepoints, the clock and generic reads ----------------------------------------

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only what happens inside if it fails: one pulled row, not the whole page."""
        self.require_tx()
        self._db.execute("SAVEPOINT apply_one")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO apply_one")
            self._db.execute("RELEASE apply_one")
            # The rollback may have undone writes of the transaction's meta: read the
            # cursor again; keep the clock (a stamp never goes back) and write it at
            # COMMIT.
            self._tx_meta.pop("sync_cursor", None)
            if self._tx_meta.get("hlc") is not None:
                self._clock_unwritten = True
            raise
        self._db.execute("RELEASE apply_one")

    def now_ms(self) -> int:
        """This machine's clock, in milliseconds (the test clock in tests)."""
        return self._now_ms()

    @property
    def ms_clock(self) -> Callable[[], int]:
        """The clock ``now_ms`` reads, itself: for a caller reading it once per op of a
        batch (``BatchWriter``), one call instead of two."""
        return self._now_ms

    def row(self, table: str, row_id: str) -> Row | None:
        found: Row | None = self._db.execute(f"SELECT * FROM {table} WHERE id = ?",
                                             (row_id,)).fetchone()
        return found

    def columns(self, table: str) -> list[str]:
        return [r["name"] for r in self._db.execute(f'PRAGMA table_info("{table}")')]

    # --- generic row writes --------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any], *, sync: bool = True,
               op_extra: Mapping[str, Any] | None = None) -> None:
        """Insert one row and, for synced tables, its op ('create' or 'append').

        ``op_extra`` travels in the op but is not a column (an attachment's content).
        """
        self.require_tx()
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        self._db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))
        if sync:
            payload = {k: v for k, v in row.items() if k not in DERIVED_TICKET_COLUMNS}
            payload.update(op_extra or {})
            kind = "append" if table in APPEND_ONLY else "create"
            at = str(row.get("at") or row.get("created_at") or "")
            self._op(TABLE_ENTITY[table], str(row["id"]), kind, None, payload, at)

    def update_ticket(self, ticket_id: str, changes: Mapping[str, Any], at: str) -> None:
        """Update ticket columns; one 'set' op per non-derived column changed."""
        self.require_tx()
        if not changes:
            return
        assignments = ", ".join(f'"{c}" = ?' for c in changes)
        self._db.execute(f"UPDATE tickets SET {assignments} WHERE id = ?",
                         (*changes.values(), ticket_id))
        for column, value in changes.items():
            if column not in DERIVED_TICKET_COLUMNS:
                self._op("ticket", ticket_id, "set", column, value, at)

    def update_row(self, table: str, row_id: str, changes: Mapping[str, Any], at: str) -> None:
        """Update a client or caller record (both are last-writer-wins per field)."""
        self.require_tx()
        assignments = ", ".join(f'"{c}" = ?' for c in changes)
        self._db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?",
                         (*changes.values(), row_id))
        for column, value in changes.items():
            self._op(TABLE_ENTITY[table], row_id, "set", column, value, at)

    # --- bulk loading (sample data) --------------------------------------------------------

    def bulk_insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many rows *without* sync ops: for sample data that must never sync."""
        self.require_tx()
        if not rows:
            return
        columns = list(rows[0])
        sql = (f"INSERT INTO {table} ({', '.join(chr(34) + c + chr(34) for c in columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        self._db.executemany(sql, [tuple(r[c] for c in columns) for r in rows])
