"""The rules' SQL: the firing ledger and the ticket facts rules test.

``rule_firings`` is local to the store that runs the rules (a solo technician's store, or
the server's rules account): one row per (rule, ticket, episode), whose id is derived from
those three, so a run repeated after a crash finds the row its first try committed and
does not fire again. What a firing did reaches everyone else as a ``rule_fired`` timeline
event with the same id (events sync like any other).

Time-based passes push every condition SQL can decide into the query (statuses, priority,
channel, type, the waits, a coarse SLA filter), so Python only looks at tickets that are
nearly certain to match.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .store import Row, Store

#: Timeline kinds that mean the status changed (the start of a wait is the latest one).
STATUS_KINDS = ("status_changed", "reopened")

_VIEW_COLUMNS = (
    "t.id, t.number, t.provisional, t.status, t.priority, t.type, t.channel, t.category, "
    "t.queue, t.assignee, t.created_at, t.updated_at, t.last_contact_at, "
    "t.first_response_at, t.resolved_at, t.sla_paused_since, t.response_due, "
    "t.response_risk_at, t.resolve_due, t.resolve_risk_at, "
    "c.name AS caller_name, c.email AS caller_email, "
    "k.name AS client_name, k.contract_tier AS contract_tier, ")
_SINCE_COLUMN = ("coalesce((SELECT max(e.at) FROM events e WHERE e.ticket_id = t.id "
                 "AND e.kind IN ('status_changed', 'reopened')), t.created_at) AS status_since")
#: For a rule that does not look at waits: the start of the wait is not read.
_NO_SINCE = "t.created_at AS status_since"
_TEXT_COLUMNS = ", t.summary, t.verbatim, t.error_text, t.event_ids"
_FROM = (" FROM tickets t LEFT JOIN callers c ON c.id = t.caller_id "
         "LEFT JOIN clients k ON k.id = t.client_id")
_STATUS_SINCE = ("coalesce((SELECT max(e.at) FROM events e WHERE e.ticket_id = t.id "
                 "AND e.kind IN ('status_changed', 'reopened')), t.created_at)")


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class CandidateQuery:
    """A WHERE clause built from a rule's conditions (pure text and parameters)."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.params: list[Any] = []

    def one_of(self, column: str, values: Iterable[str], *, nocase: bool = False) -> None:
        items = sorted(values)
        if not items:
            return
        if nocase and any(not v.isascii() for v in items):
            return  # SQLite folds ASCII only: leave this one to Python
        collate = " COLLATE NOCASE" if nocase else ""
        self.where.append(f"{column}{collate} IN ({_marks(items)})")
        self.params.extend(items)

    def at_most(self, expression: str, iso: str) -> None:
        self.where.append(f"{expression} <= ?")
        self.params.append(iso)

    def add(self, clause: str, *params: Any) -> None:
        self.where.append(clause)
        self.params.extend(params)

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.where) if self.where else ""


class RuleLedger:
    """Firing records and rule facts on one store; writes inside ``store.transaction()``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db = store.db

    # --- facts ----------------------------------------------------------------------

    def views(self, ticket_ids: Sequence[str], *, texts: bool = True,
              since: bool = True) -> list[Row]:
        """The rule facts of these tickets (in batches, for any number of ids); without
        ``since`` the start of the current wait is not looked up."""
        out: list[Row] = []
        cols = _VIEW_COLUMNS + (_SINCE_COLUMN if since else _NO_SINCE) + (
            _TEXT_COLUMNS if texts else "")
        for start in range(0, len(ticket_ids), 500):
            chunk = list(ticket_ids[start:start + 500])
            out.extend(self._db.execute(
                f"SELECT {cols}{_FROM} WHERE t.id IN ({_marks(chunk)})", chunk))
        return out

    def candidates(self, query: CandidateQuery, *, texts: bool,
                   since: bool = True) -> Iterator[Row]:
        """Tickets the SQL part of a rule's conditions lets through."""
        cols = _VIEW_COLUMNS + (_SINCE_COLUMN if since else _NO_SINCE) + (
            _TEXT_COLUMNS if texts else "")
        yield from self._db.execute(f"SELECT {cols}{_FROM}{query.sql()}", query.params)

    def candidate_ids(self, query: CandidateQuery) -> list[str]:
        """Only the ids (the benchmark's floor: the plain SQL selecting the candidates)."""
        return [row["id"] for row in self._db.execute(
            f"SELECT t.id{_FROM}{query.sql()}", query.params)]

    @staticmethod
    def status_since_sql() -> str:
        return _STATUS_SINCE

    def latest_caller_reply(self, ticket_id: str) -> str | None:
        """The text of the caller's latest email on a ticket (a ``caller_reply`` note)."""
        row = self._db.execute(
            "SELECT n.body FROM events e JOIN notes n "
            "ON n.id = json_extract(e.detail, '$.note_id') "
            "WHERE e.ticket_id = ? AND e.kind = 'caller_reply' ORDER BY e.at DESC, e.rowid DESC "
            "LIMIT 1", (ticket_id,)).fetchone()
        return None if row is None else str(row["body"])

    def last_assigned_by(self, ticket_id: str) -> str | None:
        """Who last changed the ticket's assignee (None: set at creation or never)."""
        row = self._db.execute(
            "SELECT actor FROM events WHERE ticket_id = ? AND kind = 'field_changed' "
            "AND json_extract(detail, '$.field') = 'assignee' ORDER BY at DESC, rowid DESC "
            "LIMIT 1", (ticket_id,)).fetchone()
        return None if row is None else str(row["actor"])

    # --- episodes ---------------------------------------------------------------------

    def episodes_of_ticket(self, ticket_id: str) -> dict[str, Row]:
        """Each rule's latest episode on one ticket."""
        rows = self._db.execute(
            "SELECT rule, episode, anchors, active FROM rule_firings f WHERE ticket_id = ? "
            "AND episode = (SELECT max(episode) FROM rule_firings g "
            "WHERE g.rule = f.rule AND g.ticket_id = f.ticket_id)", (ticket_id,))
        return {row["rule"]: row for row in rows}

    def active_episodes(self, rule: str) -> dict[str, Row]:
        """Tickets on which ``rule`` has an episode still going, by ticket id."""
        return {row["ticket_id"]: row for row in self._db.execute(
            "SELECT ticket_id, episode, anchors, active FROM rule_firings "
            "WHERE rule = ? AND active = 1", (rule,))}

    def last_episode(self, rule: str, ticket_id: str) -> int:
        row = self._db.execute(
            "SELECT max(episode) AS n FROM rule_firings WHERE rule = ? AND ticket_id = ?",
            (rule, ticket_id)).fetchone()
        return int(row["n"] or 0)

    def has_firing(self, firing_id: str) -> bool:
        """Recorded here, or its ``rule_fired`` event arrived by sync from another runner."""
        return self._db.execute(
            "SELECT 1 FROM rule_firings WHERE id = ? UNION ALL "
            "SELECT 1 FROM events WHERE id = ? LIMIT 1", (firing_id, firing_id)
        ).fetchone() is not None

    def record(self, row: Mapping[str, Any]) -> bool:
        """A firing; False when this very firing is already recorded (a repeated run)."""
        self.store.require_tx()
        self._db.execute("UPDATE rule_firings SET active = 0 WHERE rule = ? AND ticket_id = ? "
                         "AND active = 1", (row["rule"], row["ticket_id"]))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO rule_firings(id, rule, ticket_id, episode, event, at, "
            "anchors, active, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
            (row["id"], row["rule"], row["ticket_id"], row["episode"], row["event"],
             row["at"], row["anchors"],
             json.dumps(row["outcome"], ensure_ascii=False, sort_keys=True)))
        return cursor.rowcount > 0

    def fire_rows(self, query: CandidateQuery, rule: str, anchor_sql: str) -> list[Row]:
        """Candidates with no episode of ``rule`` going on from the same clocks: when SQL
        decides every condition, each of these fires."""
        return list(self._db.execute(
            f"SELECT t.id, t.number, t.provisional{_FROM}{query.sql()}"
            + (" AND " if query.where else " WHERE ")
            + "NOT EXISTS (SELECT 1 FROM rule_firings f WHERE f.rule = ? "
            f"AND f.ticket_id = t.id AND f.active = 1 AND f.anchors = {anchor_sql})",
            [*query.params, rule]))

    def end_where(self, rule: str, static: CandidateQuery, anchor_sql: str) -> int:
        """End the episodes of ``rule`` on tickets where its conditions (other than the
        waits) stopped holding, or a clock it measures was restarted by someone else."""
        self.store.require_tx()
        static_sql = " AND ".join(static.where) or "1"
        return self._db.execute(
            "UPDATE rule_firings SET active = 0 WHERE rule = ? AND active = 1 AND EXISTS ("
            f"SELECT 1{_FROM} WHERE t.id = rule_firings.ticket_id AND "
            f"(NOT coalesce(({static_sql}), 0) OR {anchor_sql} <> rule_firings.anchors))",
            [rule, *static.params]).rowcount

    def updated_since_firing(self, rule: str) -> list[str]:
        """Tickets with an episode of ``rule`` going on that changed after it fired."""
        return [row["ticket_id"] for row in self._db.execute(
            "SELECT f.ticket_id FROM rule_firings f JOIN tickets t ON t.id = f.ticket_id "
            "WHERE f.rule = ? AND f.active = 1 AND t.updated_at > f.at", (rule,))]

    def rules_with_episodes(self) -> bool:
        """Whether any episode is going on at all (else there is nothing to end)."""
        return self._db.execute("SELECT 1 FROM rule_firings WHERE active = 1 LIMIT 1"
                                ).fetchone() is not None

    def end_all(self, rule: str) -> int:
        self.store.require_tx()
        return self._db.execute("UPDATE rule_firings SET active = 0 WHERE rule = ? "
                                "AND active = 1", (rule,)).rowcount

    def end(self, rule: str, ticket_ids: Sequence[str]) -> None:
        """These episodes are over: the next time the rule holds is a new one."""
        self.store.require_tx()
        self._db.executemany(
            "UPDATE rule_firings SET active = 0 WHERE rule = ? AND ticket_id = ? "
            "AND active = 1", [(rule, ticket_id) for ticket_id in ticket_ids])

    def firings(self, since: str, until: str) -> list[Row]:
        return list(self._db.execute(
            "SELECT * FROM rule_firings WHERE at >= ? AND at < ? ORDER BY at", (since, until)))

    # --- what rules did (the dashboard) -------------------------------------------------

    def fired_events(self, since: str, until: str) -> list[tuple[Any, Any, str | None]]:
        """``(number, provisional, detail)`` of every ``rule_fired`` event in the window:
        the events sync, so a technician joined to a server sees what its rules did."""
        cursor = self._db.cursor()
        cursor.row_factory = None
        return [(n, p, d) for n, p, d in cursor.execute(
            "SELECT t.number, t.provisional, e.detail FROM events e JOIN tickets t "
            "ON t.id = e.ticket_id WHERE e.kind = 'rule_fired' AND e.at >= ? AND e.at < ?",
            (since, until))]
