"""The local SQLite store: every read and write of ticket data goes through here.

Writes happen inside ``Store.transaction()``, a ``BEGIN IMMEDIATE`` transaction. Each write
method records its sync op in the outbox in that same transaction, so a crash at any
instant leaves the row and its op both written or both absent, and no front end can
forget to record an op. The store applies no business rules: it is told what to write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deskcli.domain import hlc as hlc_mod
from deskcli.domain.enums import Status
from deskcli.domain.numbering import Authority, Lease

from . import health
from .health import StoreDamaged, StoreError
from .migrations import LATEST, MIGRATIONS

__all__ = ["SchemaTooNew", "Store", "StoreDamaged", "StoreError"]

Row = dict[str, Any]

#: Ticket columns computed from others on every write; they never travel as sync ops,
#: each replica recomputes them with the domain's SLA rules.
#: Statuses of a ticket someone still owes work (``Status.is_open``), as stored.
OPEN_STATUSES = tuple(s.value for s in Status if s.is_open)

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


def _plain(value: Any) -> str:
    """Any value as text SQLite can hold (a lone surrogate cannot be encoded)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _seq(value: Any) -> int:
    return value if isinstance(value, int) and 0 <= value < 2**63 else 0


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


class Store:
    """One SQLite file. Open with ``Store.open(path)``; close when done."""

    def __init__(self, connection: sqlite3.Connection, path: Path,
                 ids: Callable[[], str], now_ms: Callable[[], int]) -> None:
        self._db = connection
        self.path = path
        self._new_id = ids
        self._now_ms = now_ms
        self._in_tx = False
        #: What ``quick_check`` found wrong, when opened with ``allow_damaged`` (read-only).
        self.damage: str | None = None
        self._counted = False  # whether ``_open_paths`` counts this connection
        self.client_id = self.meta("client_id") or ""

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
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def _set_meta(self, key: str, value: str) -> None:
        self.require_tx()
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def _next_hlc(self) -> str:
        previous = self.meta("hlc")
        stamp = hlc_mod.tick(hlc_mod.Hlc.decode(previous) if previous else None,
                             self._now_ms(), self.client_id)
        encoded = stamp.encode()
        self._set_meta("hlc", encoded)
        return encoded

    # --- the outbox -------------------------------------------------------------------

    def _op(self, entity: str, entity_id: str, kind: str, field: str | None,
            value: Any, created_at: str) -> None:
        """Queue one sync op and stamp the field's version for last-writer-wins.

        ``base_seq`` is the last server change this store had seen; the server uses it to
        tell a concurrent edit from one made with the other's change in view.
        """
        stamp = self._next_hlc()
        cursor = self.meta("sync_cursor")
        self._db.execute(
            "INSERT INTO outbox(op_id, entity, entity_id, kind, field, value, hlc, base_seq,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._new_id(), entity, entity_id, kind, field,
             json.dumps(value, ensure_ascii=False, sort_keys=True), stamp,
             int(cursor) if cursor else None, created_at),
        )
        if kind in ("set", "create"):
            self.set_field_version(entity, entity_id, field or "*", stamp)

    def outbox(self) -> list[Row]:
        return list(self._db.execute("SELECT * FROM outbox ORDER BY seq"))

    def outbox_count(self) -> int:
        """Changes not yet accepted by a team server (what the status bar calls unsent)."""
        return int(self._db.execute(
            "SELECT count(*) AS n FROM outbox WHERE state = 'pending'").fetchone()["n"])

    # --- sync bookkeeping ---------------------------------------------------------------

    def set_meta(self, key: str, value: str | None) -> None:
        self.require_tx()
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._set_meta(key, value)

    def pending_ops(self, limit: int) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?", (limit,)))

    def mark_acked(self, op_ids: Sequence[str], server_seq: int) -> None:
        self.require_tx()
        self._db.executemany(
            "UPDATE outbox SET state = 'acked', acked_seq = ? WHERE op_id = ?",
            [(server_seq, op_id) for op_id in op_ids])

    def mark_rejected(self, op_id: str, reason: str, at: str) -> None:
        self.require_tx()
        self._db.execute("UPDATE outbox SET state = 'rejected' WHERE op_id = ?", (op_id,))
        self._db.execute(
            "INSERT OR REPLACE INTO sync_rejections(op_id, reason, rejected_at) VALUES (?, ?, ?)",
            (op_id, reason, at))

    def rejections(self) -> list[Row]:
        return list(self._db.execute(
            "SELECT r.*, o.entity, o.entity_id, o.kind, o.field, o.value FROM sync_rejections r "
            "JOIN outbox o ON o.op_id = r.op_id ORDER BY r.rejected_at"))

    # --- quarantine: feed rows this store could not apply -------------------------------

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
            raise
        self._db.execute("RELEASE apply_one")

    def quarantine(self, change: Mapping[str, Any], reason: str, at: str) -> None:
        """Set a pulled row aside, with why; kept as received (value as JSON text)."""
        self.require_tx()
        self._db.execute(
            "INSERT INTO sync_quarantine(op_id, seq, entity, entity_id, kind, field, value, "
            "hlc, tech, reason, quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(op_id) DO UPDATE SET reason = excluded.reason",
            (_plain(change.get("op_id")), _seq(change.get("seq")),
             _plain(change.get("entity")), _plain(change.get("entity_id")),
             _plain(change.get("kind")),
             None if change.get("field") is None else _plain(change.get("field")),
             json.dumps(change.get("value"), ensure_ascii=True, sort_keys=True, default=str),
             _plain(change.get("hlc")), _plain(change.get("tech") or ""), _plain(reason), at))

    def quarantined(self, state: str = "held") -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM sync_quarantine WHERE state = ? ORDER BY seq", (state,)))

    def release_quarantined(self, op_id: str) -> None:
        """A held row that now applied (after an upgrade, or once its parent arrived)."""
        self.require_tx()
        self._db.execute("DELETE FROM sync_quarantine WHERE op_id = ?", (op_id,))

    def retract_quarantined(self, op_id: str) -> None:
        self.require_tx()
        self._db.execute("UPDATE sync_quarantine SET state = 'retracted' WHERE op_id = ?",
                         (op_id,))

    def repend_acked(self) -> int:
        """After the server lost history (restored backup): send everything again."""
        self.require_tx()
        return self._db.execute(
            "UPDATE outbox SET state = 'pending', acked_seq = NULL WHERE state = 'acked'"
        ).rowcount

    def rewrite_pending_create(self, entity: str, entity_id: str,
                               changes: Mapping[str, Any]) -> None:
        """Amend a create op that was never sent (numbers handed over when joining a team)."""
        self.require_tx()
        for op in self._db.execute(
                "SELECT op_id, value FROM outbox WHERE entity = ? AND entity_id = ? AND "
                "kind = 'create' AND state = 'pending'", (entity, entity_id)).fetchall():
            value = {**json.loads(op["value"]), **changes}
            self._db.execute("UPDATE outbox SET value = ? WHERE op_id = ?",
                             (json.dumps(value, ensure_ascii=False, sort_keys=True),
                              op["op_id"]))

    def rewrite_pending_value(self, op_id: str, value: Any) -> None:
        """Amend an op that was never sent (its authors, when the store joins a team)."""
        self.require_tx()
        self._db.execute("UPDATE outbox SET value = ? WHERE op_id = ? AND state = 'pending'",
                         (json.dumps(value, ensure_ascii=False, sort_keys=True), op_id))

    def numbered_tickets(self) -> list[Row]:
        return list(self._db.execute("SELECT id, number FROM tickets WHERE number IS NOT NULL"))

    def own_ops(self, op_ids: Sequence[str]) -> set[str]:
        """Which of these op ids this store made (its own changes echoed by the server)."""
        found: set[str] = set()
        for start in range(0, len(op_ids), 500):
            chunk = list(op_ids[start:start + 500])
            marks = ", ".join("?" for _ in chunk)
            found.update(r["op_id"] for r in self._db.execute(
                f"SELECT op_id FROM outbox WHERE op_id IN ({marks})", chunk))
        return found

    def field_version(self, entity: str, entity_id: str, field: str) -> str | None:
        """The stamp of a field's value: its own, else the row's creation stamp."""
        row = self._db.execute(
            "SELECT hlc FROM field_versions WHERE entity = ? AND entity_id = ? "
            "AND field IN (?, '*') ORDER BY field = '*' LIMIT 1",
            (entity, entity_id, field)).fetchone()
        return None if row is None else str(row["hlc"])

    def set_field_version(self, entity: str, entity_id: str, field: str, stamp: str) -> None:
        self._db.execute(
            "INSERT INTO field_versions(entity, entity_id, field, hlc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc",
            (entity, entity_id, field, stamp))

    def now_ms(self) -> int:
        """This machine's clock, in milliseconds (the test clock in tests)."""
        return self._now_ms()

    def observe_hlc(self, remote: str) -> None:
        """Move this store's clock past a stamp seen from the server."""
        previous = self.meta("hlc")
        stamp = hlc_mod.receive(hlc_mod.Hlc.decode(previous) if previous else None,
                                hlc_mod.Hlc.decode(remote), self._now_ms(), self.client_id)
        self._set_meta("hlc", stamp.encode())

    def row(self, table: str, row_id: str) -> Row | None:
        found: Row | None = self._db.execute(f"SELECT * FROM {table} WHERE id = ?",
                                             (row_id,)).fetchone()
        return found

    def columns(self, table: str) -> list[str]:
        return [r["name"] for r in self._db.execute(f'PRAGMA table_info("{table}")')]

    def insert_remote(self, table: str, row: Mapping[str, Any]) -> bool:
        """Insert a row that came from the server (no op); False if it was already here."""
        self.require_tx()
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        cursor = self._db.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})",
                                  tuple(row.values()))
        return cursor.rowcount > 0

    def update_remote(self, table: str, row_id: str, changes: Mapping[str, Any]) -> None:
        """Update columns from the server's feed (no op: the change is not ours to send)."""
        self.require_tx()
        if changes:
            assignments = ", ".join(f'"{c}" = ?' for c in changes)
            self._db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?",
                             (*changes.values(), row_id))

    def delete_remote(self, table: str, column: str, value: Any) -> int:
        """Delete rows the server says this store may no longer hold (no op: the record
        moved to a client the technician does not work for, or an admin retracted it)."""
        self.require_tx()
        return self._db.execute(f'DELETE FROM {table} WHERE "{column}" = ?', (value,)).rowcount

    # --- number leases ------------------------------------------------------------------

    def leases(self) -> list[Lease]:
        return [Lease(r["start"], r["end"], r["next"], Authority(r["authority"]))
                for r in self._db.execute("SELECT * FROM number_leases ORDER BY start")]

    def save_lease(self, lease: Lease, granted_at: str) -> None:
        self.require_tx()
        self._db.execute(
            'INSERT INTO number_leases(start, "end", next, authority, granted_at) '
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(start) DO UPDATE SET next = excluded.next",
            (lease.start, lease.end, lease.next, lease.authority.value, granted_at))

    def drop_leases(self, authority: Authority) -> None:
        self.require_tx()
        self._db.execute("DELETE FROM number_leases WHERE authority = ?", (authority.value,))

    def next_provisional_seq(self) -> int:
        self.require_tx()
        current = int(self.meta("provisional_seq") or 0) + 1
        self._set_meta("provisional_seq", str(current))
        return current

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

    def put_blob(self, sha256: str, data: bytes) -> None:
        """Content-addressed: the same file attached twice is stored once.

        The content must hash to ``sha256`` (it may have come from the server): stored
        under a wrong hash it would stand in for the real file forever, so it is refused
        with ``ContentMismatch``, naming the hash, and nothing is stored.
        """
        self.require_tx()
        import hashlib

        if hashlib.sha256(data).hexdigest() != sha256:
            raise health.ContentMismatch(
                f"attachment content does not match its SHA-256 hash {sha256[:12]}…; it "
                "was not stored")
        self._db.execute("INSERT OR IGNORE INTO blobs(sha256, size, data) VALUES (?, ?, ?)",
                         (sha256, len(data), data))

    def blob(self, sha256: str) -> bytes | None:
        row = self._db.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else bytes(row["data"])

    def attachment(self, attachment_id: str) -> Row | None:
        """One attachment by its id, or by a prefix of it that only it has."""
        rows = self._db.execute(
            "SELECT a.*, t.number, t.provisional FROM attachments a JOIN tickets t "
            "ON t.id = a.ticket_id WHERE a.id = ? OR a.id LIKE ? ESCAPE '\\' "
            "ORDER BY a.id = ? DESC LIMIT 2",
            (attachment_id, attachment_id.replace("\\", "\\\\").replace("%", "\\%")
             .replace("_", "\\_") + "%", attachment_id)).fetchall()
        exact = [row for row in rows if row["id"] == attachment_id]
        found: Row | None = exact[0] if exact else rows[0] if len(rows) == 1 else None
        return found

    def blobs_not_matching_their_hash(self) -> list[str]:
        """Hashes whose stored content hashes to something else (``deskcli doctor``)."""
        import hashlib

        cursor = self._db.cursor()
        cursor.row_factory = None
        return [str(sha) for sha, data in cursor.execute("SELECT sha256, data FROM blobs")
                if hashlib.sha256(bytes(data)).hexdigest() != sha]

    # --- reads ------------------------------------------------------------------------------

    _TICKET_SELECT = (
        "SELECT t.*, c.name AS caller_name, c.email AS caller_email, c.phone AS caller_phone, "
        "c.vip AS caller_vip, k.name AS client_name, k.contract_tier AS contract_tier "
        "FROM tickets t LEFT JOIN callers c ON c.id = t.caller_id "
        "LEFT JOIN clients k ON k.id = t.client_id "
    )

    def ticket_by_number(self, number: int) -> Row | None:
        row: Row | None = self._db.execute(self._TICKET_SELECT + "WHERE t.number = ?",
                                           (number,)).fetchone()
        return row

    def ticket_by_id(self, ticket_id: str) -> Row | None:
        row: Row | None = self._db.execute(self._TICKET_SELECT + "WHERE t.id = ?",
                                           (ticket_id,)).fetchone()
        return row

    def ticket_by_provisional(self, label: str) -> Row | None:
        row: Row | None = self._db.execute(self._TICKET_SELECT + "WHERE t.provisional = ?",
                                           (label,)).fetchone()
        return row

    def client_by_name(self, name: str) -> Row | None:
        row: Row | None = self._db.execute("SELECT * FROM clients WHERE name = ?",
                                           (name,)).fetchone()
        return row

    def client_by_id(self, client_id: str) -> Row | None:
        row: Row | None = self._db.execute("SELECT * FROM clients WHERE id = ?",
                                           (client_id,)).fetchone()
        return row

    def clients(self) -> list[Row]:
        return list(self._db.execute("SELECT * FROM clients ORDER BY name"))

    def find_caller(self, name: str, email: str | None, client_id: str | None) -> Row | None:
        """The same person calling again, within one client (a caller's record belongs to
        their client): matched by email if known, else by name."""
        if email:
            row: Row | None = self._db.execute(
                "SELECT * FROM callers WHERE email = ? AND client_id IS ? "
                "ORDER BY created_at LIMIT 1", (email, client_id)).fetchone()
            if row:
                return row
        row = self._db.execute(
            "SELECT * FROM callers WHERE name = ? COLLATE NOCASE AND client_id IS ? "
            "ORDER BY created_at LIMIT 1", (name, client_id)).fetchone()
        return row

    def search_callers(self, text: str, limit: int = 20) -> list[Row]:
        pattern = f"%{text}%"
        return list(self._db.execute(
            "SELECT c.*, k.name AS client_name FROM callers c "
            "LEFT JOIN clients k ON k.id = c.client_id "
            "WHERE c.name LIKE ? OR c.email LIKE ? OR c.phone LIKE ? "
            "ORDER BY c.name LIMIT ?", (pattern, pattern, pattern, limit)))

    def caller(self, caller_id: str) -> Row | None:
        row: Row | None = self._db.execute("SELECT * FROM callers WHERE id = ?",
                                           (caller_id,)).fetchone()
        return row

    def step_records(self, ticket_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM step_records WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

    def minutes_logged(self, ticket_id: str) -> int:
        row = self._db.execute(
            "SELECT coalesce(sum(minutes), 0) AS m FROM time_entries WHERE ticket_id = ?",
            (ticket_id,)).fetchone()
        return int(row["m"])

    def time_entries(self, ticket_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM time_entries WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

    def timeline(self, ticket_id: str) -> list[Row]:
        """Events oldest first, with the note body attached to note events."""
        return list(self._db.execute(
            "SELECT e.*, n.body AS note_body, n.internal AS note_internal FROM events e "
            "LEFT JOIN notes n ON n.id = json_extract(e.detail, '$.note_id') "
            "WHERE e.ticket_id = ? ORDER BY e.at, e.rowid", (ticket_id,)))

    def attachments(self, ticket_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM attachments WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

    def highest_number(self) -> int | None:
        row = self._db.execute("SELECT max(number) AS n FROM tickets").fetchone()
        return None if row["n"] is None else int(row["n"])

    def count_tickets(self) -> int:
        return int(self._db.execute("SELECT count(*) AS n FROM tickets").fetchone()["n"])

    # --- the queue ---------------------------------------------------------------------

    QUEUE_COLUMNS = (
        "t.id, t.number, t.provisional, t.status, t.priority, t.type, t.summary, "
        "c.name AS caller, k.name AS client, t.assignee, t.category, t.channel, "
        "t.created_at, t.updated_at, t.response_due, t.response_risk_at, t.resolve_due, "
        "t.resolve_risk_at, t.first_response_at, t.resolved_at, t.sla_paused_since, "
        "t.urgency_due, t.last_contact_at"
    )

    #: The queue's order, ``sla.queue_rank`` in SQL: open P1s not yet answered first, then
    #: running clocks by due time (breached first), then tickets with no clock running;
    #: ties by priority and number. The CLI's ``queue`` and the console's both use it.
    QUEUE_ORDER = (
        f"CASE WHEN t.priority = 'P1' AND t.first_response_at IS NULL "
        f"AND t.status IN ({', '.join(repr(s) for s in OPEN_STATUSES)}) THEN 0 "
        "WHEN t.urgency_due IS NULL THEN 2 ELSE 1 END, "
        "t.urgency_due, t.priority, t.number")

    @staticmethod
    def _queue_filter(*, statuses: Sequence[str] | None = None, open_only: bool = True,
                      priorities: Sequence[str] = (), types: Sequence[str] = (),
                      client: str | None = None, assignee: str | None = None,
                      search: str | None = None, due_before: str | None = None,
                      due_after: str | None = None,
                      risk_before: str | None = None) -> tuple[str, list[Any]]:
        """The FROM/WHERE part shared by the queue listing and its count."""
        where: list[str] = []
        params: list[Any] = []
        if statuses:
            where.append(f"t.status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        elif open_only:
            # An IN list, not NOT IN: the status index serves it.
            where.append(f"t.status IN ({', '.join('?' for _ in OPEN_STATUSES)})")
            params.extend(OPEN_STATUSES)
        if priorities:
            where.append(f"t.priority IN ({', '.join('?' for _ in priorities)})")
            params.extend(priorities)
        if types:
            where.append(f"t.type IN ({', '.join('?' for _ in types)})")
            params.extend(types)
        if client:
            where.append("k.name = ? COLLATE NOCASE")
            params.append(client)
        if assignee:
            where.append("t.assignee = ? COLLATE NOCASE")
            params.append(assignee)
        if search:
            where.append("(t.summary LIKE ? OR c.name LIKE ? OR k.name LIKE ? "
                         "OR CAST(t.number AS TEXT) LIKE ?)")
            params.extend([f"%{search}%"] * 3 + [f"{search.lstrip('#')}%"])
        if due_before:
            where.append("t.urgency_due <= ?")
            params.append(due_before)
        if due_after is not None:
            # A running clock not yet due; tickets with no running clock never match.
            where.append("t.urgency_due > ?")
            params.append(due_after)
        if risk_before:
            # At risk or worse: a risk threshold has passed on a clock that is running.
            where.append("((t.first_response_at IS NULL AND t.response_risk_at <= ?) OR "
                         "(t.sla_paused_since IS NULL AND t.resolve_risk_at <= ?))")
            params.extend([risk_before, risk_before])
        sql = ("FROM tickets t LEFT JOIN callers c ON c.id = t.caller_id "
               "LEFT JOIN clients k ON k.id = t.client_id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, params

    def queue_rows(self, *, limit: int | None = None, offset: int = 0,
                   **filters: Any) -> Iterator[tuple[Any, ...]]:
        """Stream queue rows as tuples in ``QUEUE_COLUMNS`` order, most urgent first.

        Tuples, not dicts or objects: the queue can be 100,000 rows and the listing must
        stay within a small factor of a bare sqlite3 read. Filters: see ``_queue_filter``.
        """
        body, params = self._queue_filter(**filters)
        sql = f"SELECT {self.QUEUE_COLUMNS} {body} ORDER BY {self.QUEUE_ORDER}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([limit, offset])
        cursor = self._db.cursor()
        cursor.row_factory = None
        cursor.arraysize = 1000
        cursor.execute(sql, params)
        while batch := cursor.fetchmany():
            yield from batch

    def open_p1_without(self, step_keys: Sequence[str]) -> list[tuple[Any, Any]]:
        """(number, provisional) of open P1 tickets with no completed record of any of
        ``step_keys`` (a skip is not a completion), oldest first."""
        if not step_keys:
            step_keys = [""]
        marks = ", ".join("?" for _ in step_keys)
        statuses = ", ".join("?" for _ in OPEN_STATUSES)
        rows = self._db.execute(
            f"SELECT t.number, t.provisional FROM tickets t WHERE t.priority = 'P1' "
            f"AND t.status IN ({statuses}) AND NOT EXISTS (SELECT 1 FROM step_records r "
            f"WHERE r.ticket_id = t.id AND r.step IN ({marks}) "
            "AND r.data NOT LIKE '{\"$skipped\"%') ORDER BY t.created_at",
            (*OPEN_STATUSES, *step_keys))
        return [(row["number"], row["provisional"]) for row in rows]

    def queue_count(self, **filters: Any) -> int:
        body, params = self._queue_filter(**filters)
        return int(self._db.execute(f"SELECT count(*) AS n {body}", params).fetchone()["n"])

    # --- metrics -------------------------------------------------------------------------

    #: Event kind -> the one-letter code of ``domain.metrics``; status changes get theirs
    #: from the paused statuses the caller passes in.
    METRIC_CODES = {"public_reply": "f", "escalated": "e", "resolved": "r", "reopened": "o",
                    "survey_sent": "s"}

    def _metric_code_sql(self, paused: Sequence[str]) -> tuple[str, list[Any]]:
        marks = ", ".join(f":p{i}" for i in range(len(paused))) or "NULL"
        whens = " ".join(f"WHEN '{kind}' THEN '{code}'"
                         for kind, code in self.METRIC_CODES.items())
        sql = (f"CASE e.kind {whens} "
               "WHEN 'message_sent' THEN CASE WHEN json_extract(e.detail, '$.audience') = "
               "'caller' THEN 'f' END "
               f"WHEN 'status_changed' THEN CASE WHEN json_extract(e.detail, '$.to') IN "
               f"({marks}) THEN 'p' WHEN json_extract(e.detail, '$.from') IN ({marks}) "
               "THEN 'u' END END")
        return sql, list(paused)

    def _metric_kinds(self) -> str:
        kinds = [*self.METRIC_CODES, "message_sent", "status_changed"]
        return ", ".join(f"'{kind}'" for kind in kinds)

    def metric_timelines(self, since: str, until: str, paused: Sequence[str],
                         ticket_ids: Sequence[str] | None = None
                         ) -> Iterator[tuple[Any, ...]]:
        """Stream one compact row per ticket the metrics of ``[since, until)`` can touch.

        A ticket counts if it was created in the window, or had a resolution or a survey
        sent or answered in it. Each row, in ``domain.metrics.Timeline`` order: id, ref
        (``#4521`` or the provisional label), priority, type, client, contract tier,
        assignee, category, error text, created (epoch seconds), events
        (``"f1795510800 r1795514400"``, oldest first, only events before ``until``) and
        the minutes logged before ``until``. One pass in SQLite instead of a million event
        rows through Python. ``ticket_ids`` picks tickets instead (their whole window).
        """
        code_sql, code_params = self._metric_code_sql(paused)
        select = (
            "SELECT t.id, CASE WHEN t.number IS NOT NULL THEN '#' || t.number "
            "ELSE coalesce(t.provisional, '?') END, t.priority, t.type, k.name, "
            "k.contract_tier, t.assignee, t.category, t.error_text, unixepoch(t.created_at), "
            f"(SELECT group_concat(code || unixepoch(at), ' ') FROM (SELECT {code_sql} AS code, "
            "e.at AS at FROM events e WHERE e.ticket_id = t.id AND e.at < :until AND e.kind "
            f"IN ({self._metric_kinds()}) ORDER BY e.at, e.rowid) WHERE code IS NOT NULL), "
            "(SELECT coalesce(sum(minutes), 0) FROM time_entries m WHERE m.ticket_id = t.id "
            "AND m.at < :until) "
            "FROM tickets t LEFT JOIN clients k ON k.id = t.client_id ")
        params: dict[str, Any] = {f"p{i}": value for i, value in enumerate(code_params)}
        params.update(since=since, until=until)
        if ticket_ids is not None:
            marks = ", ".join(f":id{i}" for i in range(len(ticket_ids))) or "NULL"
            params.update({f"id{i}": value for i, value in enumerate(ticket_ids)})
            sql = select + f"WHERE t.id IN ({marks})"
        else:
            # Created in the window (an index range), plus the older tickets that an event
            # or an answer in the window brings in (found from the window's events only).
            # Probing each older ticket's own events through the (ticket_id, at) index costs
            # nothing for a window that covers the whole store, little for a short one.
            sql = (select + "WHERE t.created_at >= :since AND t.created_at < :until "
                   "UNION ALL " + select + "WHERE t.created_at < :since AND (EXISTS ("
                   "SELECT 1 FROM events w WHERE w.ticket_id = t.id AND w.at >= :since AND "
                   "w.at < :until AND w.kind IN ('resolved', 'survey_sent')) OR EXISTS ("
                   "SELECT 1 FROM csat_responses a WHERE a.ticket_id = t.id AND "
                   "a.at >= :since AND a.at < :until))")
        cursor = self._db.cursor()
        cursor.row_factory = None
        cursor.arraysize = 2000
        cursor.execute(sql, params)
        while batch := cursor.fetchmany():
            yield from batch

    def csat_answers(self, until: str, ticket_id: str | None = None
                     ) -> list[tuple[str, int, int]]:
        """``(ticket id, epoch, score)`` of every survey answer before ``until``."""
        sql = "SELECT ticket_id, unixepoch(at), score FROM csat_responses WHERE at < ?"
        params: list[Any] = [until]
        if ticket_id is not None:
            sql += " AND ticket_id = ?"
            params.append(ticket_id)
        cursor = self._db.cursor()
        cursor.row_factory = None
        return [tuple(row) for row in cursor.execute(sql + " ORDER BY at", params)]

    def tickets_by_refs(self, refs: Sequence[str]) -> list[Row]:
        """Listing rows for tickets named ``#4521`` or by provisional label, in that order.

        For one page of a drill-down at a time: a metric can stand on 100,000 tickets.
        """
        numbers = [int(ref[1:]) for ref in refs if ref.startswith("#") and ref[1:].isdigit()]
        labels = [ref for ref in refs if not ref.startswith("#")]
        found: dict[str, Row] = {}
        for column, values in (("number", numbers), ("provisional", labels)):
            for start in range(0, len(values), 500):
                chunk = values[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                for row in self._db.execute(
                        "SELECT t.number, t.provisional, t.priority, t.status, t.summary, "
                        "t.assignee, k.name AS client FROM tickets t LEFT JOIN clients k "
                        f"ON k.id = t.client_id WHERE t.{column} IN ({marks})", chunk):
                    key = f"#{row['number']}" if row["number"] is not None else row["provisional"]
                    found[key] = row
        return [found[ref] for ref in refs if ref in found]

    def csat_responses(self, ticket_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM csat_responses WHERE ticket_id = ? ORDER BY at, rowid", (ticket_id,)))

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

    # --- the knowledge base -----------------------------------------------------------------

    #: bm25 weights of the index columns (title, codes, body): a hit in an error code or a
    #: title says far more than one word somewhere in a long body.
    KB_WEIGHTS = (8.0, 6.0, 1.0)
    #: An article is a fix someone wrote up to be followed; a ticket is one occurrence.
    #: At a similar text score the article comes first.
    KB_ARTICLE_BOOST = 1.5
    #: Index documents per second of time: a document's number is its time in seconds
    #: times this, plus a counter (negative for articles); migration 4 assigns them.
    KB_DOC_SLOTS = 1 << 20

    def kb_search(self, match: str, *, kind: str | None = None, client_id: str | None = None,
                  tag: str | None = None, since: str | None = None,
                  exclude: str | None = None, articles_for: str | None = None,
                  limit: int = 20) -> list[Row]:
        """Articles and resolved tickets matching an FTS5 expression, best first.

        Ranked by bm25 (lower is better); at an equal score the more recent one comes
        first, so last month's fix is read before last year's. ``client_id`` keeps that
        client's tickets and articles plus the articles written for every client.
        ``articles_for`` (a client id, or ``""`` for none) keeps every ticket but only the
        articles that serve that client: a search from a ticket offers no runbook it may
        not use. The snippet marks matches with \\x02 ... \\x03 for the front end to style.

        Two steps, because a common word matches thousands of documents: first rank
        every match using the index alone (a document's number says whether it is an
        article and how recent it is, see migration 4), then join and build snippets for
        the ``limit`` winners only. Only a client or tag filter looks up each match.
        """
        where = ["kb_fts MATCH ?"]
        params: list[Any] = [match]
        join = ""
        if kind == "article":
            where.append("kb_fts.rowid < 0")
        elif kind == "ticket":
            where.append("kb_fts.rowid > 0")
        if since:
            where.append(f"abs(kb_fts.rowid) >= CAST(strftime('%s', ?) AS INTEGER) "
                         f"* {self.KB_DOC_SLOTS}")
            params.append(since)
        if exclude:
            where.append("kb_fts.rowid IS NOT (SELECT doc FROM kb_docs WHERE ref_id = ?)")
            params.append(exclude)
        if articles_for is not None:
            # CASE is lazy: only article matches (few) look their client up.
            where.append("CASE WHEN kb_fts.rowid > 0 THEN 1 ELSE coalesce((SELECT "
                         "a.client_id FROM kb_docs a WHERE a.doc = kb_fts.rowid), '') "
                         "IN ('', ?) END")
            params.append(articles_for)
        if client_id or tag:
            join = " JOIN kb_docs d ON d.doc = kb_fts.rowid"
        if client_id:
            where.append("(d.client_id = ? OR (d.kind = 'article' AND d.client_id IS NULL))")
            params.append(client_id)
        if tag:
            where.append("(',' || d.tags || ',') LIKE ?")
            params.append(f"%,{tag.lower()},%")
        weights = ", ".join(str(w) for w in self.KB_WEIGHTS)
        ranked = self._db.execute(
            f"SELECT kb_fts.rowid AS doc, round(bm25(kb_fts, {weights}) * (CASE WHEN "
            f"kb_fts.rowid < 0 THEN {self.KB_ARTICLE_BOOST} ELSE 1.0 END), 6) AS score "
            f"FROM kb_fts{join} WHERE {' AND '.join(where)} "
            "ORDER BY score, abs(kb_fts.rowid) DESC LIMIT ?", (*params, limit)).fetchall()
        if not ranked:
            return []
        docs = [row["doc"] for row in ranked]
        found = {row["doc"]: row for row in self._db.execute(
            "SELECT d.doc, d.kind, d.ref_id, d.client_id, d.at, "
            "snippet(kb_fts, -1, char(2), char(3), '…', 14) AS snippet, "
            "kb_fts.title AS title, t.number, t.provisional, t.resolution, k.name AS client "
            "FROM kb_fts JOIN kb_docs d ON d.doc = kb_fts.rowid "
            "LEFT JOIN tickets t ON d.kind = 'ticket' AND t.id = d.ref_id "
            "LEFT JOIN clients k ON k.id = d.client_id "
            # '+': one pass over the matches checking membership, not one FTS5 seek per
            # winner (each seek walks every phrase's list again: several times slower).
            f"WHERE kb_fts MATCH ? AND +kb_fts.rowid IN ({', '.join('?' for _ in docs)})",
            (match, *docs))}
        return [{**found[row["doc"]], "score": row["score"]} for row in ranked
                if row["doc"] in found]

    def kb_count(self, match: str, *, kind: str | None = None,
                 exclude: str | None = None) -> int:
        sql = "SELECT count(*) AS n FROM kb_fts WHERE kb_fts MATCH ?"
        params: list[Any] = [match]
        if kind == "article":
            sql += " AND kb_fts.rowid < 0"
        elif kind == "ticket":
            sql += " AND kb_fts.rowid > 0"
        if exclude:
            sql += " AND kb_fts.rowid IS NOT (SELECT doc FROM kb_docs WHERE ref_id = ?)"
            params.append(exclude)
        return int(self._db.execute(sql, params).fetchone()["n"])

    def kb_index_row(self, ref_id: str) -> Row | None:
        """What the index holds for one article or ticket (tests and repair checks)."""
        found: Row | None = self._db.execute(
            "SELECT d.*, f.title, f.codes, f.body FROM kb_docs d "
            "JOIN kb_fts f ON f.rowid = d.doc WHERE d.ref_id = ?", (ref_id,)).fetchone()
        return found

    _ARTICLE_SELECT = ("SELECT a.*, k.name AS client_name FROM kb_articles a "
                       "LEFT JOIN clients k ON k.id = a.client_id ")

    def kb_article(self, article_id: str) -> Row | None:
        found: Row | None = self._db.execute(self._ARTICLE_SELECT + "WHERE a.id = ?",
                                             (article_id,)).fetchone()
        return found

    def kb_articles_matching(self, fragment: str, limit: int = 5) -> list[Row]:
        """Articles whose id starts or ends with ``fragment`` (dashes ignored)."""
        compact = fragment.replace("-", "")
        return list(self._db.execute(
            self._ARTICLE_SELECT + "WHERE replace(a.id, '-', '') LIKE ? "
            "OR replace(a.id, '-', '') LIKE ? ORDER BY a.created_at LIMIT ?",
            (f"{compact}%", f"%{compact}", limit)))

    def kb_articles(self) -> list[Row]:
        return list(self._db.execute(self._ARTICLE_SELECT + "ORDER BY a.created_at, a.id"))

    def kb_versions(self, article_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM kb_versions WHERE article_id = ? ORDER BY at, rowid",
            (article_id,)))

    def kb_links_of_article(self, article_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT l.*, t.number, t.provisional, t.summary FROM kb_links l "
            "JOIN tickets t ON t.id = l.ticket_id WHERE l.article_id = ? "
            "ORDER BY l.at, l.rowid", (article_id,)))

    def kb_links_of_ticket(self, ticket_id: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT l.*, a.title FROM kb_links l JOIN kb_articles a ON a.id = l.article_id "
            "WHERE l.ticket_id = ? ORDER BY l.at, l.rowid", (ticket_id,)))
