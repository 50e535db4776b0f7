"""Sync bookkeeping: the outbox, rejections, the quarantine of pulled rows this store
could not apply, field versions and the clock, writes from the server's feed, and the
number leases. Changes made here are the sync machinery's own and record no op.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from deskcli.domain import hlc as hlc_mod
from deskcli.domain.numbering import Authority, Lease

from .encoding import encode_json
from .rows import Row

if TYPE_CHECKING:
    from .store import Store


class SyncState:
    """The sync machinery's tables on one store; writes run inside ``store.transaction()``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def outbox(self) -> list[Row]:
        return list(self.db.execute("SELECT * FROM outbox ORDER BY seq"))

    def outbox_count(self) -> int:
        """Changes not yet accepted by a team server (what the status bar calls unsent)."""
        return int(self.db.execute(
            "SELECT count(*) AS n FROM outbox WHERE state = 'pending'").fetchone()["n"])

    def pending_ops(self, limit: int) -> list[Row]:
        return list(self.db.execute(
            "SELECT * FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?", (limit,)))

    def mark_acked(self, op_ids: Sequence[str], server_seq: int) -> None:
        self.store.require_tx()
        self.db.executemany(
            "UPDATE outbox SET state = 'acked', acked_seq = ? WHERE op_id = ?",
            [(server_seq, op_id) for op_id in op_ids])

    def mark_rejected(self, op_id: str, reason: str, at: str) -> None:
        self.store.require_tx()
        self.db.execute("UPDATE outbox SET state = 'rejected' WHERE op_id = ?", (op_id,))
        self.db.execute(
            "INSERT OR REPLACE INTO sync_rejections(op_id, reason, rejected_at) VALUES (?, ?, ?)",
            (op_id, reason, at))

    def rejections(self) -> list[Row]:
        return list(self.db.execute(
            "SELECT r.*, o.entity, o.entity_id, o.kind, o.field, o.value FROM sync_rejections r "
            "JOIN outbox o ON o.op_id = r.op_id ORDER BY r.rejected_at"))

    def quarantine(self, change: Mapping[str, Any], reason: str, at: str) -> None:
        """Set a pulled row aside, with why; kept as received (value as JSON text)."""
        self.store.require_tx()
        self.db.execute(
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
        return list(self.db.execute(
            "SELECT * FROM sync_quarantine WHERE state = ? ORDER BY seq", (state,)))

    def release_quarantined(self, op_id: str) -> None:
        """A held row that now applied (after an upgrade, or once its parent arrived)."""
        self.store.require_tx()
        self.db.execute("DELETE FROM sync_quarantine WHERE op_id = ?", (op_id,))

    def retract_quarantined(self, op_id: str) -> None:
        self.store.require_tx()
        self.db.execute("UPDATE sync_quarantine SET state = 'retracted' WHERE op_id = ?",
                         (op_id,))

    def repend_acked(self) -> int:
        """After the server lost history (restored backup): send everything again."""
        self.store.require_tx()
        return self.db.execute(
            "UPDATE outbox SET state = 'pending', acked_seq = NULL WHERE state = 'acked'"
        ).rowcount

    def rewrite_pending_create(self, entity: str, entity_id: str,
                               changes: Mapping[str, Any]) -> None:
        """Amend a create op that was never sent (numbers handed over when joining a team)."""
        self.store.require_tx()
        for op in self.db.execute(
                "SELECT op_id, value FROM outbox WHERE entity = ? AND entity_id = ? AND "
                "kind = 'create' AND state = 'pending'", (entity, entity_id)).fetchall():
            value = {**json.loads(op["value"]), **changes}
            self.db.execute("UPDATE outbox SET value = ? WHERE op_id = ?",
                             (encode_json(value),
                              op["op_id"]))

    def rewrite_pending_value(self, op_id: str, value: Any) -> None:
        """Amend an op that was never sent (its authors, when the store joins a team)."""
        self.store.require_tx()
        self.db.execute("UPDATE outbox SET value = ? WHERE op_id = ? AND state = 'pending'",
                         (encode_json(value), op_id))

    def own_ops(self, op_ids: Sequence[str]) -> set[str]:
        """Which of these op ids this store made (its own changes echoed by the server)."""
        found: set[str] = set()
        for start in range(0, len(op_ids), 500):
            chunk = list(op_ids[start:start + 500])
            marks = ", ".join("?" for _ in chunk)
            found.update(r["op_id"] for r in self.db.execute(
                f"SELECT op_id FROM outbox WHERE op_id IN ({marks})", chunk))
        return found

    def field_version(self, entity: str, entity_id: str, field: str) -> str | None:
        """The stamp of a field's value: its own, else the row's creation stamp."""
        row = self.db.execute(
            "SELECT hlc FROM field_versions WHERE entity = ? AND entity_id = ? "
            "AND field IN (?, '*') ORDER BY field = '*' LIMIT 1",
            (entity, entity_id, field)).fetchone()
        return None if row is None else str(row["hlc"])

    def set_field_version(self, entity: str, entity_id: str, field: str, stamp: str) -> None:
        self.db.execute(
            "INSERT INTO field_versions(entity, entity_id, field, hlc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc",
            (entity, entity_id, field, stamp))

    def observe_hlc(self, remote: str) -> None:
        """Move this store's clock past a stamp seen from the server."""
        previous = self.store.meta("hlc")
        stamp = hlc_mod.receive(hlc_mod.Hlc.decode(previous) if previous else None,
                                hlc_mod.Hlc.decode(remote), self.store.now_ms(),
                                self.store.client_id)
        self.store.set_meta("hlc", stamp.encode())

    def insert_remote(self, table: str, row: Mapping[str, Any]) -> bool:
        """Insert a row that came from the server (no op); False if it was already here."""
        self.store.require_tx()
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        cursor = self.db.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})",
                                  tuple(row.values()))
        return cursor.rowcount > 0

    def update_remote(self, table: str, row_id: str, changes: Mapping[str, Any]) -> None:
        """Update columns from the server's feed (no op: the change is not ours to send)."""
        self.store.require_tx()
        if changes:
            assignments = ", ".join(f'"{c}" = ?' for c in changes)
            self.db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?",
                             (*changes.values(), row_id))

    def delete_remote(self, table: str, column: str, value: Any) -> int:
        """Delete rows the server says this store may no longer hold (no op: the record
        moved to a client the technician does not work for, or an admin retracted it)."""
        self.store.require_tx()
        return self.db.execute(f'DELETE FROM {table} WHERE "{column}" = ?', (value,)).rowcount

    def leases(self) -> list[Lease]:
        return [Lease(r["start"], r["end"], r["next"], Authority(r["authority"]))
                for r in self.db.execute("SELECT * FROM number_leases ORDER BY start")]

    def save_lease(self, lease: Lease, granted_at: str) -> None:
        self.store.require_tx()
        self.db.execute(
            'INSERT INTO number_leases(start, "end", next, authority, granted_at) '
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(start) DO UPDATE SET next = excluded.next",
            (lease.start, lease.end, lease.next, lease.authority.value, granted_at))

    def drop_leases(self, authority: Authority) -> None:
        self.store.require_tx()
        self.db.execute("DELETE FROM number_leases WHERE authority = ?", (authority.value,))

    def next_provisional_seq(self) -> int:
        self.store.require_tx()
        current = int(self.store.meta("provisional_seq") or 0) + 1
        self.store.set_meta("provisional_seq", str(current))
        return current



def _plain(value: Any) -> str:
    """Any value as text SQLite can hold (a lone surrogate cannot be encoded)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _seq(value: Any) -> int:
    return value if isinstance(value, int) and 0 <= value < 2**63 else 0

