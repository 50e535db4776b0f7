"""The durable outbound queue: what gets queued when a ticket changes, and the sender.

``OutboundPlanner`` runs inside the ticket change's own transaction (``TicketService``
calls ``notice`` from its write path), so a message exists if and only if the change that
causes it was committed: intake → acknowledgement email; P1 → page on every paging
channel; the page step → incident chat post with the bridge; resolve → resolution email
and the pager's resolve; close → survey after the configured delay; reopen → the survey
withdrawn.

``OutboundWorker`` sends: it claims one due message under a lease, sends it outside any
transaction, then records the outcome and its timeline event in one transaction. A failed
attempt is retried with exponential backoff and jitter (never sooner than a receiver's
Retry-After) until the retry limit, then marked failed. Each message keeps its
idempotency key across attempts, so a resend after a crash is a repeat the receiver drops.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deskcli.domain.enums import Priority
from deskcli.domain.errors import InvalidInput, NotFound
from deskcli.domain.notify import (
    MessageState,
    NotifySettings,
    Purpose,
    idempotency_key,
    survey_still_wanted,
)
from deskcli.domain.numbering import display_ref
from deskcli.domain.templates import Template
from deskcli.domain.timefmt import to_iso
from deskcli.notify.base import DeliveryError, Outgoing, Sender
from deskcli.services.listeners import quiet_for
from deskcli.services.notify_templates import ticket_values
from deskcli.storage.outbound import OutboundQueue
from deskcli.storage.rows import TicketRow
from deskcli.storage.store import Row, Store

#: Purposes whose delivery is a word to the caller (resets the checkpoint clock).
CONTACTS = frozenset({Purpose.ACKNOWLEDGEMENT.value, Purpose.UPDATE.value,
                      Purpose.RESOLUTION.value})


def write_event(store: Store, new_id: Callable[[], str], actor: str, ticket_id: str, at: str,
                kind: str, summary: str, detail: Mapping[str, Any]) -> None:
    """A timeline event, shaped exactly like ``TicketService.record_event`` writes them."""
    store.insert("events", {
        "id": new_id(), "ticket_id": ticket_id, "at": at, "actor": actor, "kind": kind,
        "summary": summary, "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True)})


class OutboundPlanner:
    """Queues messages for ticket changes; every method runs inside the caller's transaction."""

    def __init__(self, store: Store, settings: NotifySettings, templates: Mapping[str, Template],
                 *, actor: str, new_id: Callable[[], str], checkpoint: timedelta) -> None:
        self.store = store
        self.queue = OutboundQueue(store)
        self.settings = settings
        self.templates = templates
        self.actor = actor
        self._new_id = new_id
        self.checkpoint = checkpoint

    # --- what TicketService tells us ------------------------------------------------

    @quiet_for("updated")
    def notice(self, what: str, ticket_id: str, at: str,
               info: Mapping[str, Any] | None = None) -> None:
        """Called by the ticket service after each change, in its transaction."""
        if what == "updated":
            return  # a field change as such queues nothing (the specific notices do)
        ticket = self.store.tickets.by_id(ticket_id)
        if ticket is None:
            return
        info = info or {}
        if what in ("created", "caller"):
            self._caller_email(ticket, Purpose.ACKNOWLEDGEMENT, at)
        if what in ("created", "priority") and ticket["priority"] == Priority.P1.value:
            self._page(ticket, at)
        if what == "step" and info.get("step") == "page_oncall":
            self._page(ticket, at)
            self._chat(ticket, at, str(info.get("bridge") or ""))
        if what == "resolved":
            self._caller_email(ticket, Purpose.RESOLUTION, at)
            self._pager_follow_up(ticket, Purpose.PAGE_RESOLVE, at)
        if what == "closed":
            self._survey(ticket, at)
        if what == "reply":
            # The caller gets one acknowledgement: the technician's own first words
            # replace the template one if it has not gone out yet.
            self.queue.cancel_queued(ticket_id, [Purpose.ACKNOWLEDGEMENT.value],
                                     "replaced by the technician's reply")
            self._caller_email(ticket, Purpose.UPDATE, at,
                               message=str(info.get("text") or ""), repeat=True)
        if what == "reopened":
            self.queue.cancel_queued(ticket_id, [Purpose.SURVEY.value],
                                     "the ticket was reopened before the survey went out")

    def post_chat(self, ticket: TicketRow, channel: str, at: str, text: str) -> bool:
        """Queue a post to one chat channel (a rule's ``notify``), in the caller's
        transaction; each post is a message of its own."""
        return self._add(ticket, Purpose.CHAT, channel, at, {"text": text, "bridge": ""},
                         repeat=True)

    def acknowledge_page(self, ticket: TicketRow, at: str) -> int:
        """The on-call engineer has it: tell the pager, so it stops escalating."""
        return self._pager_follow_up(ticket, Purpose.PAGE_ACK, at)

    # --- queuing -------------------------------------------------------------------

    def _add(self, ticket: TicketRow, purpose: Purpose, channel: str, at: str,
             payload: Mapping[str, Any], *, recipient: str | None = None,
             not_before: str | None = None, repeat: bool = False) -> bool:
        seq = self.queue.count(ticket["id"], purpose.value, channel) + 1 if repeat else 1
        return self.queue.add({
            "id": self._new_id(), "ticket_id": ticket["id"], "purpose": purpose.value,
            "channel": channel, "idem_key": idempotency_key(ticket["id"], purpose, channel, seq),
            "recipient": recipient,
            "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
            "state": MessageState.QUEUED.value, "attempts": 0,
            "not_before": not_before or at, "created_at": at})

    def _values(self, ticket: TicketRow, at: str, **extra: str) -> dict[str, str]:
        from deskcli.domain.timefmt import from_iso

        return ticket_values(ticket, technician=self.actor, now=from_iso(at),
                             checkpoint=self.checkpoint, **extra)

    def _caller_email(self, ticket: TicketRow, purpose: Purpose, at: str, *, message: str = "",
                      repeat: bool = False, not_before: str | None = None) -> bool:
        channel = self.settings.email
        address = ticket.get("caller_email")
        if channel is None or not address:
            return False
        subject, body = self.templates[purpose.value].render(
            self._values(ticket, at, message=message))
        return self._add(ticket, purpose, channel, at, {"subject": subject, "body": body},
                         recipient=address, not_before=not_before, repeat=repeat)

    def _page(self, ticket: TicketRow, at: str) -> None:
        ref = display_ref(ticket["number"], ticket["provisional"])
        summary = f"{ref} P1: {ticket['summary']}"
        details = {"ticket": ref, "priority": ticket["priority"],
                   "client": ticket.get("client_name") or "", "opened_by": ticket["created_by"],
                   "caller": ticket.get("caller_name") or ""}
        for channel in self.settings.page:
            self._add(ticket, Purpose.PAGE, channel, at,
                      {"summary": summary, "severity": "critical", "details": details,
                       "description": ticket.get("verbatim") or ticket["summary"]})

    def _chat(self, ticket: TicketRow, at: str, bridge: str) -> None:
        ref = display_ref(ticket["number"], ticket["provisional"])
        text = f"P1 incident {ref}: {ticket['summary']}"
        if bridge:
            text += f" | bridge: {bridge}"
        for channel in self.settings.chat:
            self._add(ticket, Purpose.CHAT, channel, at, {"text": text, "bridge": bridge})

    def _pager_follow_up(self, ticket: TicketRow, purpose: Purpose, at: str) -> int:
        """Acknowledge or resolve on each pager this ticket was paged through."""
        paged = {r["channel"] for r in self.queue.for_ticket(ticket["id"])
                 if r["purpose"] == Purpose.PAGE.value}
        ref = display_ref(ticket["number"], ticket["provisional"])
        verb = "resolved" if purpose is Purpose.PAGE_RESOLVE else "acknowledged"
        added = 0
        for channel in sorted(paged):
            added += self._add(ticket, purpose, channel, at,
                               {"summary": f"{ref} {verb} by {self.actor}"}, repeat=True)
        return added

    def _survey(self, ticket: TicketRow, at: str) -> None:
        from deskcli.domain.timefmt import from_iso

        when = to_iso(from_iso(at) + self.settings.survey_delay)
        self._caller_email(ticket, Purpose.SURVEY, at, not_before=when, repeat=True)


@dataclass
class WorkReport:
    """What one run of the sender did."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    #: P1 pages not delivered that have failed at least once: the loud part.
    failing_pages: list[Row] = field(default_factory=list)


class OutboundWorker:
    """Sends due messages. Several workers (or a restarted one) may run against one store."""

    def __init__(self, store: Store, settings: NotifySettings, senders: Mapping[str, Sender],
                 *, actor: str, now: Callable[[], datetime], new_id: Callable[[], str],
                 mark_contacted: Callable[[str, str], None] | None = None,
                 survey_delivered: Callable[[str, str], None] | None = None,
                 jitter: Callable[[], float] = random.random, owner: str | None = None) -> None:
        self.store = store
        self.queue = OutboundQueue(store)
        self.settings = settings
        self.senders = senders
        self.actor = actor
        self._now = now
        self._new_id = new_id
        self._mark_contacted = mark_contacted
        self._survey_delivered = survey_delivered
        self._jitter = jitter
        self.owner = owner or f"{store.client_id}:{os.getpid()}:{new_id()[-8:]}"

    def run_once(self, limit: int = 200) -> WorkReport:
        """Try every message due now once (up to ``limit``); never sleeps."""
        report = WorkReport()
        for _ in range(limit):
            if not self._one(report):
                break
        report.failing_pages = self.queue.failing_pages()
        return report

    def _one(self, report: WorkReport) -> bool:
        now = self._now()
        at = to_iso(now)
        with self.store.transaction():
            row = self.queue.claim(at, to_iso(now + self.settings.retry.lease), self.owner,
                                   tuple(self.senders))
            if row is None:
                return False
            ticket = self.store.tickets.by_id(row["ticket_id"])
            if row["purpose"] == Purpose.SURVEY.value and (ticket is None or not (
                    survey_still_wanted(ticket["status"], ticket["closed_at"],
                                        row["created_at"]))):
                self.queue.finish(row["id"], {"state": MessageState.CANCELLED.value,
                                              "last_error": "ticket reopened",
                                              "lease_owner": None, "lease_until": None})
                report.cancelled.append(row["idem_key"])
                return True
        assert ticket is not None
        message = Outgoing(key=row["idem_key"], purpose=row["purpose"],
                           ticket_ref=display_ref(ticket["number"], ticket["provisional"]),
                           ticket_id=row["ticket_id"], payload=json.loads(row["payload"]),
                           recipient=row["recipient"])
        if self.settings.retry.exhausted(row["attempts"] - 1):
            # Its attempts were used up by senders that never came back (a crash or a
            # kill mid-send): it fails for good here instead of being retried forever.
            self._failed(row, message, DeliveryError(
                "the sender stopped during its last attempt; not sent again",
                retryable=False), report)
            return True
        sender = self.senders[row["channel"]]  # claim() takes only channels we have
        try:
            receipt = sender.send(message)
        except DeliveryError as error:
            self._failed(row, message, error, report)
        except Exception as error:  # one poison message must not stop the queue
            # A message the adapter cannot even build (bad text, a bug): retrying gives the
            # same result, so it fails for good and the messages behind it still go out.
            self._failed(row, message, DeliveryError(
                f"the message could not be sent: {type(error).__name__}: {error}",
                retryable=False), report)
        else:
            self._sent(row, message, receipt, report)
        return True

    def _detail(self, row: Row, message: Outgoing) -> dict[str, Any]:
        purpose = Purpose(row["purpose"])
        return {"audience": purpose.audience, "template": purpose.value,
                "channel": row["channel"], "to": row["recipient"] or row["channel"],
                "key": row["idem_key"], "attempt": row["attempts"]}

    def _sent(self, row: Row, message: Outgoing, receipt: str, report: WorkReport) -> None:
        at = to_iso(self._now())
        with self.store.transaction():
            if not self.queue.holds(row["id"], self.owner):
                return  # our lease ran out and another sender took over: it records
            self.queue.finish(row["id"], {"state": MessageState.SENT.value, "sent_at": at,
                                          "lease_owner": None, "lease_until": None,
                                          "last_error": None})
            label = _label(row["purpose"])
            write_event(self.store, self._new_id, self.actor, row["ticket_id"], at,
                        "message_sent", f"{label} sent via {row['channel']}"
                        + (f" to {row['recipient']}" if row["recipient"] else ""),
                        {**self._detail(row, message), "receipt": receipt})
            if row["purpose"] == Purpose.SURVEY.value and self._survey_delivered is not None:
                self._survey_delivered(row["ticket_id"], at)
            if row["purpose"] in CONTACTS and self._mark_contacted is not None:
                self._mark_contacted(row["ticket_id"], at)
        report.sent.append(row["idem_key"])

    def _failed(self, row: Row, message: Outgoing, error: DeliveryError,
                report: WorkReport) -> None:
        now = self._now()
        at = to_iso(now)
        policy = self.settings.retry
        give_up = not error.retryable or policy.exhausted(row["attempts"])
        retry_at = None if give_up else to_iso(
            now + policy.delay(row["attempts"], self._jitter(), error.retry_after))
        with self.store.transaction():
            if not self.queue.holds(row["id"], self.owner):
                return
            self.queue.finish(row["id"], {
                "state": MessageState.FAILED.value if give_up else MessageState.QUEUED.value,
                "not_before": retry_at or row["not_before"], "last_error": error.reason,
                "lease_owner": None, "lease_until": None})
            label = _label(row["purpose"])
            summary = (f"{label} via {row['channel']} FAILED for good: {error.reason}"
                       if give_up else
                       f"{label} via {row['channel']} failed (attempt {row['attempts']}): "
                       f"{error.reason}; retrying at {retry_at[11:16] if retry_at else ''}")
            write_event(self.store, self._new_id, self.actor, row["ticket_id"], at,
                        "message_failed", summary,
                        {**self._detail(row, message), "reason": error.reason,
                         "next_retry": retry_at, "gave_up": give_up})
        (report.failed if give_up else report.retrying).append(row["idem_key"])


def _label(purpose: str) -> str:
    return {"acknowledgement": "Acknowledgement", "update": "Update to the caller",
            "resolution": "Resolution confirmation", "survey": "Satisfaction survey",
            "page": "P1 page", "page_ack": "Page acknowledgement",
            "page_resolve": "Page resolve", "chat": "Incident chat post"}.get(purpose, purpose)


def retry_now(store: Store, ref_ticket_id: str | None = None) -> int:
    """Make failed and waiting messages due again (after fixing a channel's settings)."""
    queue = OutboundQueue(store)
    with store.transaction():
        rows = [r for r in queue.listing(("failed", "queued"))
                if ref_ticket_id is None or r["ticket_id"] == ref_ticket_id]
        for row in rows:
            queue.finish(row["id"], {"state": "queued", "attempts": 0,
                                     "not_before": row["created_at"]})
    return len(rows)


def require_enabled(settings: NotifySettings) -> None:
    if not settings.enabled:
        raise InvalidInput("notifications are not set up: add a [notify] section to "
                           "config.toml (see docs/notifications.md)")


def ticket_or_fail(store: Store, ticket_id: str) -> TicketRow:
    row = store.tickets.by_id(ticket_id)
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    return row
