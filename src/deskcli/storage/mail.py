"""The email intake's SQL: which messages were taken in, and each mailbox's last fetch.

Local rows only (not in ``TABLE_ENTITY``): the machine that fetches is the one that
remembers. A message's row is written in the same transaction as the ticket or note it
became, so a fetcher killed before it moved the message on the IMAP server finds the row on
its next run and only finishes the move. ``key`` (the Message-ID, or a content hash) is the
primary key: two fetchers racing on one message cannot both record it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .store import Row, Store

#: Outcomes that put words on a ticket (they count toward a sender's hourly cap).
TAKEN = ("ticket", "reply", "note")


class MailLedger:
    """Reads and writes on one store; writes must run inside ``store.transaction()``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db = store.db  # the storage layer's own connection

    def by_key(self, key: str) -> Row | None:
        row: Row | None = self._db.execute("SELECT * FROM mail_messages WHERE key = ?",
                                           (key,)).fetchone()
        return row

    def by_uid(self, mailbox: str, folder: str, uidvalidity: int, uid: int) -> Row | None:
        row: Row | None = self._db.execute(
            "SELECT * FROM mail_messages WHERE mailbox = ? AND folder = ? AND uidvalidity = ? "
            "AND uid = ? ORDER BY at DESC LIMIT 1",
            (mailbox, folder, uidvalidity, uid)).fetchone()
        return row

    def known_uids(self, mailbox: str, folder: str, uidvalidity: int) -> dict[int, Row]:
        return {int(r["uid"]): r for r in self._db.execute(
            "SELECT * FROM mail_messages WHERE mailbox = ? AND folder = ? AND uidvalidity = ?",
            (mailbox, folder, uidvalidity))}

    def record(self, row: Mapping[str, Any]) -> bool:
        """Remember a message; False when its key is already remembered."""
        self.store.require_tx()
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        cursor = self._db.execute(
            f"INSERT OR IGNORE INTO mail_messages ({columns}) VALUES ({marks})",
            tuple(row.values()))
        return cursor.rowcount > 0

    def ticket_with_mail(self, key: str) -> str | None:
        """The ticket a message is already on according to the timeline, which syncs: a
        message another machine took in (and pushed) before it could move it."""
        row = self._db.execute(
            "SELECT ticket_id FROM events WHERE json_extract(detail, '$.mail_key') = ? "
            "AND kind IN ('email_received', 'caller_reply', 'internal_note') LIMIT 1",
            (key,)).fetchone()
        return None if row is None else str(row["ticket_id"])

    def caller_by_email(self, address: str) -> Row | None:
        """The caller with this address (the first recorded), matched on the address only."""
        row: Row | None = self._db.execute(
            "SELECT * FROM callers WHERE lower(email) = lower(?) ORDER BY created_at LIMIT 1",
            (address,)).fetchone()
        return row

    def forget(self, key: str) -> None:
        """Drop a refused or parked message's row, so it is judged again."""
        self.store.require_tx()
        self._db.execute("DELETE FROM mail_messages WHERE key = ?", (key,))

    def sender_count(self, sender: str, since: str) -> int:
        marks = ", ".join("?" for _ in TAKEN)
        return int(self._db.execute(
            f"SELECT count(*) AS n FROM mail_messages WHERE sender = ? AND at >= ? "
            f"AND outcome IN ({marks})", (sender, since, *TAKEN)).fetchone()["n"])

    def senders_of(self, ticket_id: str) -> set[str]:
        """Everyone whose mail is already on the ticket."""
        return {str(r["sender"]) for r in self._db.execute(
            "SELECT DISTINCT sender FROM mail_messages WHERE ticket_id = ? AND sender IS NOT "
            "NULL AND outcome IN ('ticket', 'reply')", (ticket_id,))}

    def counts(self, mailbox: str, since: str | None = None) -> dict[str, int]:
        sql = "SELECT outcome, count(*) AS n FROM mail_messages WHERE mailbox = ?"
        args: list[Any] = [mailbox]
        if since is not None:
            sql += " AND at >= ?"
            args.append(since)
        return {str(r["outcome"]): int(r["n"])
                for r in self._db.execute(sql + " GROUP BY outcome", args)}

    def recent(self, mailbox: str, limit: int = 20) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM mail_messages WHERE mailbox = ? ORDER BY at DESC, rowid DESC "
            "LIMIT ?", (mailbox, limit)))

    # --- each mailbox's fetch health ---------------------------------------------------

    def state(self, mailbox: str) -> Row | None:
        row: Row | None = self._db.execute("SELECT * FROM mailbox_state WHERE mailbox = ?",
                                           (mailbox,)).fetchone()
        return row

    def failing(self, at_least: int) -> tuple[str, ...]:
        """Mailboxes whose last ``at_least`` fetches or more all failed."""
        return tuple(str(r["mailbox"]) for r in self._db.execute(
            "SELECT mailbox FROM mailbox_state WHERE failures >= ? ORDER BY mailbox",
            (at_least,)))

    def fetched(self, mailbox: str, at: str, error: str | None) -> None:
        """Record one fetch attempt: a success clears the failure count, an error adds one."""
        self.store.require_tx()
        self._db.execute(
            "INSERT INTO mailbox_state (mailbox, last_attempt_at, last_success_at, last_error, "
            "failures) VALUES (?, ?, ?, ?, ?) ON CONFLICT(mailbox) DO UPDATE SET "
            "last_attempt_at = excluded.last_attempt_at, "
            "last_success_at = coalesce(excluded.last_success_at, last_success_at), "
            "last_error = excluded.last_error, "
            "failures = CASE WHEN excluded.last_error IS NULL THEN 0 ELSE failures + 1 END",
            (mailbox, at, None if error else at, error, 1 if error else 0))

    # --- one fetcher per mailbox at a time ------------------------------------------------

    def claim(self, mailbox: str, owner: str, now: str, until: str,
              is_dead: Callable[[str], bool]) -> str | None:
        """Take the mailbox for ``owner`` until ``until``; returns None when taken, else the
        owner that holds it. A lease that ran out, or whose owner ``is_dead``, is taken
        over."""
        self.store.require_tx()
        row = self.state(mailbox)
        if row is None:
            self._db.execute("INSERT INTO mailbox_state (mailbox, lease_owner, lease_until) "
                             "VALUES (?, ?, ?)", (mailbox, owner, until))
            return None
        holder = row["lease_owner"]
        if holder and holder != owner and row["lease_until"] and row["lease_until"] > now \
                and not is_dead(str(holder)):
            return str(holder)
        self._db.execute("UPDATE mailbox_state SET lease_owner = ?, lease_until = ? "
                         "WHERE mailbox = ?", (owner, until, mailbox))
        return None

    def release(self, mailbox: str, owner: str) -> None:
        self.store.require_tx()
        self._db.execute("UPDATE mailbox_state SET lease_owner = NULL, lease_until = NULL "
                         "WHERE mailbox = ? AND lease_owner = ?", (mailbox, owner))
