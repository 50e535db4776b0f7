"""Notifications for the front ends: send what is due, test a channel, look at the queue,
send a checkpoint update, acknowledge a page, expand canned responses.

The CLI's ``notify`` commands and the TUI's background sender both go through here. The
channel adapters are built on first use, so a missing secret is reported when something
is about to be sent (or tested), with the environment variable or keyring entry to set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.notify import Purpose, page_state
from deskcli.domain.numbering import display_ref
from deskcli.domain.templates import expand_shortcodes
from deskcli.domain.timefmt import to_iso
from deskcli.notify.base import DeliveryError, Outgoing, Sender
from deskcli.services.desk import Desk
from deskcli.services.notify_templates import load_snippets, ticket_values
from deskcli.services.outbound import OutboundWorker, WorkReport, require_enabled, retry_now
from deskcli.storage.outbound import OutboundQueue
from deskcli.storage.rows import TicketRow
from deskcli.storage.store import Row


@dataclass(frozen=True)
class TestResult:
    channel: str
    ok: bool
    detail: str


class NotifyService:
    def __init__(self, desk: Desk, environ: Mapping[str, str] | None = None) -> None:
        self.desk = desk
        self.settings = desk.config.notify
        self._environ = environ
        self._senders: dict[str, Sender] | None = None
        self.queue = OutboundQueue(desk.store)

    # --- senders ----------------------------------------------------------------------

    def senders(self) -> dict[str, Sender]:
        """Every channel in use, built once; InvalidInput names a missing secret."""
        if self._senders is None:
            from deskcli.notify.channels import build_all

            self._senders = build_all(self.settings, self._environ)
        return self._senders

    def close(self) -> None:
        for sender in (self._senders or {}).values():
            sender.close()
        self._senders = None

    def worker(self) -> OutboundWorker:
        tickets = self.desk.tickets
        return OutboundWorker(self.desk.store, self.settings, self.senders(),
                              actor=tickets.actor, now=self.desk.now,
                              new_id=self.desk.new_id, mark_contacted=tickets.mark_contacted,
                              survey_delivered=tickets.survey_delivered)

    def send_due(self) -> WorkReport:
        """One pass of the sender over everything due now."""
        require_enabled(self.settings)
        return self.worker().run_once()

    def has_due(self) -> bool:
        now = to_iso(self.desk.now())
        return any(r["not_before"] <= now for r in self.queue.listing(("queued",))) or any(
            r["lease_until"] and r["lease_until"] <= now
            for r in self.queue.listing(("sending",)))

    # --- a test message ---------------------------------------------------------------

    def test(self, channel: str, *, to: str | None = None) -> TestResult:
        """Send one test message straight away (not through the queue) and say what
        happened. A pager gets a low-severity trigger and its resolve, so nobody is woken."""
        settings = self.settings.channels.get(channel)
        if settings is None:
            known = ", ".join(sorted(self.settings.channels)) or "none configured"
            raise InvalidInput(f"unknown channel {channel!r}; configured channels: {known}")
        from deskcli.notify.channels import build_sender

        sender = build_sender(settings, timeout=self.settings.retry.timeout.total_seconds(),
                              environ=self._environ)
        stamp = to_iso(self.desk.now())
        key = f"deskcli-test-{channel}-{stamp.replace(':', '')}"
        text = f"deskcli test message from {self.desk.tickets.actor} at {stamp}"
        recipient = None
        if settings.kind.value == "smtp":
            recipient = to or str(settings.options["from"])
        message = Outgoing(key=key, purpose=Purpose.TEST.value, ticket_ref="TEST",
                           ticket_id="test", recipient=recipient, incident=key,
                           payload={"summary": text, "severity": "info", "text": text,
                                    "subject": "[TEST] deskcli test message",
                                    "body": text + "\n", "details": {"test": "yes"}})
        try:
            receipt = sender.send(message)
            if settings.kind.pages and settings.kind.value != "webhook":
                # Resolved with the very key it was triggered with, or it stays open.
                sender.send(Outgoing(key=f"{key}-resolve", purpose=Purpose.PAGE_RESOLVE.value,
                                     ticket_ref="TEST", ticket_id="test", incident=key,
                                     payload={"summary": "test over"}))
        except DeliveryError as error:
            return TestResult(channel, False, error.reason)
        finally:
            sender.close()
        return TestResult(channel, True, receipt)

    # --- the queue --------------------------------------------------------------------

    def listing(self, *, everything: bool = False) -> list[Row]:
        states = () if everything else ("queued", "sending", "failed")
        return self.queue.listing(states)

    def failing_pages(self) -> list[Row]:
        return self.queue.failing_pages()

    def page_state(self, ticket_id: str) -> str | None:
        return page_state(self.queue.for_ticket(ticket_id))

    def retry(self, ref: str | None = None) -> int:
        ticket_id = self.desk.tickets.find(ref)["id"] if ref else None
        return retry_now(self.desk.store, ticket_id)

    # --- actions on a ticket ----------------------------------------------------------

    def update(self, ref: str, message: str) -> tuple[TicketRow, bool]:
        """A checkpoint update: a reply on the timeline, which the planner emails to the
        caller in the same transaction when they have an address and email is set up.
        Returns the ticket and whether an email was queued."""
        ticket = self.desk.tickets.add_note(ref, message, internal=False)
        queued = any(r["purpose"] == Purpose.UPDATE.value and r["state"] == "queued"
                     for r in self.queue.for_ticket(ticket["id"]))
        return ticket, queued

    def acknowledge_page(self, ref: str) -> int:
        """Tell the pager the on-call engineer has the incident; refused if never paged."""
        planner = self.desk.outbound
        require_enabled(self.settings)
        ticket = self.desk.tickets.find(ref)
        with self.desk.store.transaction():
            added = planner.acknowledge_page(ticket, to_iso(self.desk.now())) if planner else 0
        if not added:
            raise Refused(f"{display_ref(ticket['number'], ticket['provisional'])} has no "
                          "page to acknowledge (only a paged P1 has one)")
        return added

    # --- canned responses ---------------------------------------------------------------

    def snippets(self) -> dict[str, str]:
        return load_snippets(self.desk.paths.config_dir, self.settings)

    def expand(self, text: str, ticket: Mapping[str, Any] | None) -> str:
        """Expand ``/shortcode`` words with this ticket's values."""
        return expand_shortcodes(text, self.snippets(), self.values(ticket))

    def snippet(self, name: str, ticket: Mapping[str, Any] | None) -> str:
        """One canned response by name, filled in; InvalidInput lists the known names."""
        snippets = self.snippets()
        if name.lstrip("/") not in snippets:
            raise InvalidInput(f"no canned response {name!r}; known: "
                               + ", ".join(sorted(snippets)), field="template")
        return expand_shortcodes("/" + name.lstrip("/"), snippets, self.values(ticket))

    def values(self, ticket: Mapping[str, Any] | None) -> dict[str, Any]:
        if ticket is None:
            return {}
        return ticket_values(ticket, technician=self.desk.tickets.actor, now=self.desk.now(),
                             checkpoint=self.desk.config.checkpoint)
