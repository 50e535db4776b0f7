"""Email intake: a fetched message becomes a ticket, a note from the caller, or is refused.

``MailIntake.ingest`` takes one raw message and, in ONE transaction, writes what it became
(ticket, note, status change, attachments, the queued acknowledgement) together with the
ledger row that remembers the message. ``MailFetcher`` walks a mailbox: it skips (and only
moves) what the ledger already knows, ingests the rest, then moves each message to the
processed or refused folder. The order matters for "exactly once": the ticket and the
ledger row commit before the IMAP move, so a fetcher killed in between finds the row on the
next run and does not open a second ticket; two fetchers racing on one message serialise on
the store's write lock and the second finds the first one's row.

Rules (what threads where, what is automatic, what a reply does) live in
``deskcli.domain.mail``; this module only looks facts up and sequences the writes.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from deskcli.domain import mail as rules
from deskcli.domain import validation
from deskcli.domain.enums import Channel, Status
from deskcli.domain.errors import DeskError, InvalidInput
from deskcli.domain.ids import stable_id
from deskcli.domain.intake import NewTicket
from deskcli.domain.mailboxes import IntakeSettings, MailboxSettings
from deskcli.domain.numbering import display_ref
from deskcli.domain.timefmt import to_iso
from deskcli.services.desk import Desk
from deskcli.services.tickets import TicketService
from deskcli.storage.mail import MailLedger
from deskcli.storage.rows import TicketRow
from deskcli.storage.store import Row

#: Larger messages are not downloaded at all: refused with their size.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    """What became of one message; ``line`` is what ``mail fetch`` prints for it."""

    #: ticket | reply | note | refused | parked | seen
    action: str
    detail: str
    #: Where the message goes on the IMAP server: "processed" or "refused".
    destination: str
    ticket_ref: str | None = None

    def line(self, mailbox: str, label: str) -> str:
        """One line for the fetch log; nothing from the message can break or steer it."""
        return " ".join(rules.inert(f"{mailbox}: {label}: {self.detail}").split())


class MailIntake:
    """Turns raw messages into ticket changes on one desk's store."""

    def __init__(self, desk: Desk, settings: IntakeSettings, *,
                 own_addresses: Sequence[str] = ()) -> None:
        self.tickets: TicketService = desk.tickets
        self.store = desk.store
        self.ledger = MailLedger(desk.store)
        self.settings = settings
        self.own = tuple(a.lower() for a in own_addresses)
        #: The desk's clock and id factory: what the intake writes itself (notes, ledger
        #: rows) is stamped like what the ticket service writes in the same transaction.
        self.now: Callable[[], datetime] = desk.now
        self.new_id: Callable[[], str] = desk.new_id

    # --- the one entry point -----------------------------------------------------------

    def ingest(self, mailbox: MailboxSettings, folder: str, uidvalidity: int, uid: int,
               raw: bytes) -> Outcome:
        """Take one message in. Never raises for bad mail: it is refused with a reason."""
        own = (*self.own, mailbox.address.lower())
        parsed = rules.parse(raw, own_addresses=own)
        actor = self.tickets.actor
        self.tickets.actor = f"mail:{mailbox.name}"
        try:
            with self.store.transaction():
                return self._ingest(mailbox, folder, uidvalidity, uid, raw, parsed)
        except DeskError as error:
            # A rule refused the write (an over-long field, a transition): nothing of it
            # was written; the message is refused with the reason, and the fetch goes on.
            return self.refuse(mailbox, folder, uidvalidity, uid, parsed.key, parsed.sender,
                               f"could not be taken in: {error.message}")
        finally:
            self.tickets.actor = actor

    def refuse(self, mailbox: MailboxSettings, folder: str, uidvalidity: int, uid: int,
               key: str, sender: str | None, reason: str) -> Outcome:
        """Record a refusal on its own (when the message could not even be ingested)."""
        with self.store.transaction():
            self._remember(mailbox, folder, uidvalidity, uid, key, sender, "refused", None,
                           reason)
        return Outcome("refused", f"refused: {reason}", "refused")

    def _remember(self, mailbox: MailboxSettings, folder: str, uidvalidity: int, uid: int,
                  key: str, sender: str | None, outcome: str, ticket_id: str | None,
                  reason: str | None) -> bool:
        return self.ledger.record({
            "key": key, "mailbox": mailbox.name, "folder": folder, "uidvalidity": uidvalidity,
            "uid": uid, "sender": sender, "outcome": outcome, "ticket_id": ticket_id,
            "reason": reason, "at": to_iso(self.now())})

    def _ingest(self, box: MailboxSettings, folder: str, uidvalidity: int, uid: int,
                raw: bytes, mail: rules.ParsedMail) -> Outcome:
        seen = self.ledger.by_key(mail.key)
        if seen is not None and seen["outcome"] in ("refused", "parked") and (
                seen["mailbox"], seen["folder"], seen["uidvalidity"], seen["uid"]
        ) != (box.name, folder, uidvalidity, uid):
            # Refused or parked before, and someone moved it back into the inbox (a new
            # UID): they want it taken in now, so it is judged again.
            self.ledger.forget(mail.key)
            seen = None
        if seen is None and (elsewhere := self.ledger.ticket_with_mail(mail.key)):
            # Taken in by another fetcher (another server host) that pushed the ticket
            # but did not get to move the message: remember it here too, do not repeat it.
            ref = self._ref_of(elsewhere)
            self._remember(box, folder, uidvalidity, uid, mail.key, mail.sender, "seen",
                           elsewhere, "already on a ticket")
            return Outcome("seen", f"already taken in elsewhere (on {ref}); not taken in "
                                   "again", "processed", ref)
        if seen is not None:
            ref = self._ref_of(seen["ticket_id"])
            where = "refused" if seen["outcome"] in ("refused", "parked") else "processed"
            return Outcome("seen", f"already taken in ({seen['outcome']}"
                           + (f" on {ref}" if ref else "") + "); not taken in again",
                           where, ref)

        def done(outcome: str, ticket: TicketRow | None, detail: str, reason: str | None = None
                 ) -> Outcome:
            self._remember(box, folder, uidvalidity, uid, mail.key, mail.sender, outcome,
                           ticket["id"] if ticket else None, reason or detail)
            where = "refused" if outcome in ("refused", "parked") else "processed"
            ref = display_ref(ticket["number"], ticket["provisional"]) if ticket else None
            return Outcome(outcome, detail, where, ref)

        if mail.kind is rules.MailKind.OURS:
            return done("refused", None, f"refused: deskcli's own mail ({mail.kind_reason})")
        sender = self._sender(mail)
        if sender is None:
            return done("refused", None, "refused: no usable From address, so there is "
                                         "nobody to answer or to match to a caller")
        since = to_iso(self.now() - timedelta(hours=1))
        if self.ledger.sender_count(sender, since) >= self.settings.sender_limit:
            return done("parked", None, f"parked: {sender} sent more than "
                        f"{self.settings.sender_limit} messages in the last hour (a runaway "
                        "auto-responder?); left in the refused folder, move it back to "
                        "take it in")
        target, via, linked = self._thread(box, mail, sender)
        if mail.kind is rules.MailKind.AUTOMATIC:
            if target is None:
                return done("refused", None, f"refused: an automatic message "
                                             f"({mail.kind_reason}) that belongs to no ticket")
            self._automatic_note(target, mail, sender)
            return done("note", target, f"automatic message ({mail.kind_reason}) noted "
                                        f"internally on {self._ref(target)}; not answered")
        if target is not None:
            effect = rules.reply_effect(Status(target["status"]))
            if effect is rules.ReplyEffect.NEW_LINKED:
                ticket = self._new_ticket(box, mail, sender, raw, linked_to=target,
                                          why=f"the caller wrote again about "
                                              f"{self._ref(target)}, which is closed")
                return done("ticket", ticket, f"new ticket {self._ref(ticket)} from {sender}, "
                                              f"linked to closed {self._ref(target)}")
            self._caller_reply(target, mail, sender, raw, effect)
            what = {rules.ReplyEffect.REOPEN: ", reopened (caller replied)",
                    rules.ReplyEffect.BACK_TO_OPEN: ", back to open"}.get(effect, "")
            return done("reply", target, f"reply from {sender} on {self._ref(target)} "
                                         f"(matched by {via}){what}")
        why = linked[1] if linked else None
        ticket = self._new_ticket(box, mail, sender, raw,
                                  linked_to=linked[0] if linked else None, why=why)
        detail = f"new ticket {self._ref(ticket)} from {sender}"
        if linked:
            detail += f" ({why})"
        return done("ticket", ticket, detail)

    # --- facts -----------------------------------------------------------------------

    @staticmethod
    def _sender(mail: rules.ParsedMail) -> str | None:
        try:
            return validation.email(mail.sender, field="From")
        except InvalidInput:
            return None

    def _ref_of(self, ticket_id: str | None) -> str | None:
        if not ticket_id:
            return None
        ticket = self.store.tickets.by_id(ticket_id)
        return self._ref(ticket) if ticket else None

    @staticmethod
    def _ref(ticket: TicketRow) -> str:
        return display_ref(ticket["number"], ticket["provisional"])

    def _thread(self, box: MailboxSettings, mail: rules.ParsedMail, sender: str
                ) -> tuple[TicketRow | None, str, tuple[TicketRow, str] | None]:
        """The ticket a message answers, how it was matched, and a ticket it named but may
        not write to (with the reason). Headers first, then the ``[#N]`` tag; the subject's
        words never."""
        for mid in mail.thread_ids():
            ticket_id = rules.our_ticket_id(mid)
            if ticket_id is None:
                known = self.ledger.by_key(mid)
                ticket_id = known["ticket_id"] if known else None
            if ticket_id:
                ticket = self.store.tickets.by_id(ticket_id)
                if ticket is not None:
                    # A reply to a duplicate goes to the ticket it was merged into.
                    target = self.tickets.merge_target(ticket)
                    via = "its In-Reply-To/References"
                    if target["id"] != ticket["id"]:
                        via += f" (to {self._ref(ticket)}, merged into {self._ref(target)})"
                    return target, via, None
        if mail.tag is None:
            return None, "", None
        tagged = self.store.tickets.by_number(mail.tag)
        if tagged is None:
            return None, "", None
        ticket = self.tickets.merge_target(tagged)
        # Parties: the caller, everyone whose mail is on it, and the callers of the
        # duplicates merged into it (and everyone whose mail was on those).
        parties = {ticket.get("caller_email") or "", *self.ledger.senders_of(ticket["id"]),
                   *self.tickets.party_emails(ticket)}
        for dup in self.tickets.merged_duplicates(ticket["id"]):
            parties |= self.ledger.senders_of(dup["id"])
        refusal = rules.tag_refusal(number=mail.tag, sender=sender, parties=parties,
                                    ticket_client=ticket.get("client_name"),
                                    mailbox_client=box.client)
        if refusal is not None:
            return None, "", (ticket, refusal)
        if ticket["id"] != tagged["id"]:
            return ticket, (f"the [#{mail.tag}] tag (merged into {self._ref(ticket)})"), None
        return ticket, f"the [#{mail.tag}] tag", None

    # --- writes (inside the ingest transaction) -------------------------------------------

    def _new_ticket(self, box: MailboxSettings, mail: rules.ParsedMail, sender: str,
                    raw: bytes, *, linked_to: TicketRow | None, why: str | None) -> TicketRow:
        service = self.tickets
        now = self.now()
        at = to_iso(now)
        known = self.ledger.caller_by_email(sender) or self.store.contacts.caller(
            stable_id("caller", sender))
        client = box.client
        if client is None and known is not None and known["client_id"]:
            found = self.store.contacts.client_by_id(known["client_id"])
            client = found["name"] if found else None
        if known is None:
            # The caller is found by address only, never by the display name: anyone can
            # write "From: Your CEO <x@elsewhere>", and matching that to the CEO's record
            # would give the stranger the CEO's history (and address on file).
            client_row = service.ensure_client(client, at) if client else None
            known = {"id": stable_id("caller", sender),
                     "name": mail.sender_name or sender.split("@")[0], "email": sender,
                     "phone": None, "client_id": client_row["id"] if client_row else None,
                     "vip": 0, "created_at": at}
            self.store.insert("callers", known)
        codes = mail.error_codes
        draft = NewTicket(
            summary=mail.summary, caller=known["name"], email=sender,
            verbatim=mail.words or None,
            error=", ".join(codes)[:validation.TEXT_MAX] or None,
            priority=box.priority, channel=Channel.EMAIL, client=client)
        # The ticket service's own write path (numbering, SLA clocks, caller lookup, the
        # acknowledgement queued by the planner), inside this transaction.
        row = service.insert_ticket(draft, now)
        ticket = self.store.tickets.by_id(row["id"])
        assert ticket is not None
        service.record_event(ticket["id"], at, "email_received",
                             f"Opened from email to {box.address} by {sender}; identity NOT "
                             "verified (an email is not proof of who wrote it)",
                             {"mailbox": box.name, "message_id": mail.message_id,
                              "mail_key": mail.key, "from": sender})
        if linked_to is not None:
            service.record_event(ticket["id"], at, "linked",
                                 f"Linked to {self._ref(linked_to)}: {why}",
                                 {"ticket_id": linked_to["id"], "reason": why})
            service.record_event(linked_to["id"], at, "linked",
                                 f"Email from {sender} opened {self._ref(ticket)} instead of "
                                 f"writing here: {why}",
                                 {"ticket_id": ticket["id"], "reason": why})
        self._attachments(ticket, mail, raw, at)
        return ticket

    def _caller_reply(self, ticket: TicketRow, mail: rules.ParsedMail, sender: str, raw: bytes,
                      effect: rules.ReplyEffect) -> None:
        service = self.tickets
        at = to_iso(self.now())
        body = mail.words or "(the message had no text)"
        note_id = self.new_id()
        self.store.insert("notes", {"id": note_id, "ticket_id": ticket["id"], "at": at,
                                    "author": sender, "body": body, "internal": 0})
        who = ("the caller" if sender == (ticket.get("caller_email") or "").lower()
               else "a party of the ticket")
        service.record_event(ticket["id"], at, "caller_reply", f"Email from {who} ({sender})",
                             {"note_id": note_id, "message_id": mail.message_id,
                              "mail_key": mail.key, "from": sender})
        # A word from the caller is contact: the checkpoint clock restarts.
        ticket = service.write_changes(ticket, {"last_contact_at": at}, at)
        # The caller-reply rules (services/rules.py) run on this, with the reply's words.
        service.notice("caller_reply", ticket["id"], at, {"text": body, "note_id": note_id})
        if effect is rules.ReplyEffect.BACK_TO_OPEN:
            ticket = service.change_status(ticket, Status.OPEN, at,
                                           reason=rules.REOPEN_REASON)
        elif effect is rules.ReplyEffect.REOPEN:
            ticket = service.change_status(ticket, Status.OPEN, at,
                                           reason=rules.REOPEN_REASON)
        self._attachments(ticket, mail, raw, at)

    def _automatic_note(self, ticket: TicketRow, mail: rules.ParsedMail, sender: str) -> None:
        service = self.tickets
        at = to_iso(self.now())
        text = (f"Automatic message from {sender} ({mail.kind_reason}), not answered:\n"
                f"Subject: {mail.subject[:200]}\n\n{mail.words[:2000]}")
        note_id = self.new_id()
        self.store.insert("notes", {"id": note_id, "ticket_id": ticket["id"], "at": at,
                                    "author": service.actor, "body": text, "internal": 1})
        service.record_event(ticket["id"], at, "internal_note",
                             f"Internal note by {service.actor}: automatic email",
                             {"note_id": note_id, "message_id": mail.message_id,
                              "mail_key": mail.key})

    def _attachments(self, ticket: TicketRow, mail: rules.ParsedMail, raw: bytes, at: str) -> None:
        """Attachments within the size limit are stored like any other; what is refused
        (and any text that could not be decoded) is said in an internal note. When the
        words were trimmed or something could not be read, the original message is kept
        as ``original-message.eml`` so nothing the caller sent is out of reach."""
        service = self.tickets
        limit = service.attachment_max_bytes
        notes: list[str] = [f"Could not read all of the email: {p}" for p in mail.problems]
        for item in mail.attachments:
            if len(item.data) > limit:
                notes.append(f"Not attached: {item.filename} ({len(item.data) / 1048576:.1f} "
                             f"MiB; attachments are limited to {limit / 1048576:.0f} MiB). "
                             "It is in the mailbox's processed folder.")
                continue
            service.store_attachment(ticket, item.filename, item.data, at)
        if mail.words != mail.body or mail.problems:
            if len(raw) <= limit:
                service.store_attachment(ticket, "original-message.eml", raw, at)
            else:
                full = (f"From: {mail.sender}\nSubject: {mail.subject}\n\n{mail.body}"
                        ).encode()
                service.store_attachment(ticket, "original-message.txt", full[:limit], at)
        if notes:
            note_id = self.new_id()
            self.store.insert("notes", {"id": note_id, "ticket_id": ticket["id"], "at": at,
                                        "author": service.actor, "body": "\n".join(notes),
                                        "internal": 1})
            service.record_event(ticket["id"], at, "internal_note",
                                 f"Internal note by {service.actor}: parts of the email not kept",
                                 {"note_id": note_id})

    # --- status ----------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Each configured mailbox: last fetch, failures, counts (all time and 24 h)."""
        since = to_iso(self.now() - timedelta(hours=24))
        out = []
        for name, box in sorted(self.settings.mailboxes.items()):
            state = self.ledger.state(name) or {}
            out.append({
                "mailbox": name, "host": f"{box.host}:{box.port}", "folder": box.folder,
                "last_fetch": state.get("last_attempt_at"),
                "last_success": state.get("last_success_at"),
                "failures": int(state.get("failures") or 0),
                "last_error": state.get("last_error"),
                "counts": self.ledger.counts(name),
                "last_24h": self.ledger.counts(name, since),
            })
        return out


# --- the IMAP side, as the fetcher needs it --------------------------------------------------


class MailboxUnreachable(Exception):
    """The mailbox could not be reached, logged into or read: the pass stops (exit 1)."""


class Mailbox(Protocol):
    """One open IMAP session (``deskcli.intake.imap.ImapMailbox``)."""

    def select(self, folder: str) -> int: ...

    def uids(self) -> list[int]: ...

    def size(self, uid: int) -> int | None: ...

    def fetch(self, uid: int) -> bytes | None: ...

    def move(self, uids: list[int], folder: str) -> None: ...

    def close(self) -> None: ...


@dataclass
class FetchReport:
    mailbox: str
    lines: list[str]
    handled: int = 0
    error: str | None = None
    #: Another fetcher was working on the mailbox: this pass left it alone.
    busy: str | None = None


def this_process() -> str:
    """A fetcher's name in the mailbox claim: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str) -> bool:
    """True for a claim held by a process of this host that no longer exists (a fetcher
    killed mid-pass); a claim from another host is only taken over when it runs out."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class MailFetcher:
    """One pass over a mailbox: ingest what is new, move what is done.

    A pass first claims the mailbox in the store (a lease renewed as it goes), so two
    fetchers on one mailbox (a cron overlap, a second window) do not both work through it
    and move each message twice; the ledger's unique key is the second line of defence.
    """

    #: How long a claim holds without being renewed (renewed every quarter of it).
    LEASE = timedelta(minutes=10)
    #: Messages moved on the server with one command. Moving later than the commit is
    #: safe: until moved, a message is recognised by the ledger and only moved.
    MOVE_BATCH = 50

    def __init__(self, intake: MailIntake, connect: Callable[[MailboxSettings], Mailbox],
                 *, on_line: Callable[[str], None] | None = None,
                 owner: str | None = None,
                 is_dead: Callable[[str], bool] = owner_is_dead,
                 before_move: Callable[[], None] | None = None) -> None:
        self.intake = intake
        #: Runs before each batch of moves (the server pushes its new tickets first, so a
        #: message leaves the inbox only once its ticket is on the server).
        self.before_move = before_move
        self.connect = connect
        self.on_line = on_line
        self.owner = owner or this_process()
        self.is_dead = is_dead

    def _claim(self, box: MailboxSettings) -> str | None:
        now = self.intake.now()
        with self.intake.store.transaction():
            return self.intake.ledger.claim(box.name, self.owner, to_iso(now),
                                            to_iso(now + self.LEASE), self.is_dead)

    def _say(self, report: FetchReport, line: str) -> None:
        report.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)

    def fetch(self, box: MailboxSettings) -> FetchReport:
        report = FetchReport(box.name, [])
        holder = self._claim(box)
        if holder is not None:
            report.busy = holder
            self._say(report, f"{box.name}: another fetcher ({holder}) is working on this "
                              "mailbox; left to it")
            return report
        renewed = time.monotonic()
        try:
            with _session(self.connect, box) as session:
                uidvalidity = session.select(box.folder)
                known = self.intake.ledger.known_uids(box.name, box.folder, uidvalidity)
                moves: dict[str, list[int]] = {}
                for uid in session.uids():
                    if time.monotonic() - renewed > self.LEASE.total_seconds() / 4:
                        self._claim(box)  # renew: a long pass keeps its mailbox
                        renewed = time.monotonic()
                    folder = self._one(box, session, uidvalidity, uid, known.get(uid), report)
                    if folder is not None:
                        moves.setdefault(folder, []).append(uid)
                        if len(moves[folder]) >= self.MOVE_BATCH:
                            self._move(session, moves.pop(folder), folder)
                for folder, uids in moves.items():
                    self._move(session, uids, folder)
        except MailboxUnreachable as error:
            report.error = str(error)
            self._say(report, f"{box.name}: cannot fetch: {error}")
        finally:
            with self.intake.store.transaction():
                self.intake.ledger.fetched(box.name, to_iso(self.intake.now()), report.error)
                self.intake.ledger.release(box.name, self.owner)
        return report

    def _move(self, session: Mailbox, uids: list[int], folder: str) -> None:
        if self.before_move is not None:
            self.before_move()
        session.move(uids, folder)

    def _one(self, box: MailboxSettings, session: Mailbox, uidvalidity: int, uid: int,
             known: Row | None, report: FetchReport) -> str | None:
        """Take one message in; returns the folder it is to be moved to (None: gone)."""
        label = f"uid {uid}"
        if known is not None:
            # Taken in by an earlier run that stopped before the move: only move it now.
            destination = ("refused" if known["outcome"] in ("refused", "parked")
                           else "processed")
            outcome = Outcome("seen", f"already taken in ({known['outcome']}); moved now",
                              destination)
        else:
            size = session.size(uid)
            if size is None:  # gone meanwhile (another fetcher moved it)
                return None
            if size > MAX_MESSAGE_BYTES:
                outcome = self.intake.refuse(
                    box, box.folder, uidvalidity, uid, f"uid:{box.name}:{uidvalidity}:{uid}",
                    None, f"the message is {size / 1048576:.0f} MiB; messages over "
                          f"{MAX_MESSAGE_BYTES // 1048576} MiB are not downloaded")
            else:
                raw = session.fetch(uid)
                if raw is None:
                    return None
                label = _label(raw, uid)
                try:
                    outcome = self.intake.ingest(box, box.folder, uidvalidity, uid, raw)
                except Exception as error:  # a bug on one message must not stop the rest
                    outcome = self.intake.refuse(
                        box, box.folder, uidvalidity, uid, rules.content_key(raw), None,
                        f"could not be taken in ({type(error).__name__}: {error})")
        folder = box.refused_folder if outcome.destination == "refused" \
            else box.processed_folder
        report.handled += 1
        self._say(report, outcome.line(box.name, label) + f" → {folder}")
        return folder


class _session(AbstractContextManager["Mailbox"]):
    def __init__(self, connect: Callable[[MailboxSettings], Mailbox],
                 box: MailboxSettings) -> None:
        self._connect = connect
        self._box = box
        self._mailbox: Mailbox | None = None

    def __enter__(self) -> Mailbox:
        self._mailbox = self._connect(self._box)
        return self._mailbox

    def __exit__(self, *exc: object) -> None:
        if self._mailbox is not None:
            self._mailbox.close()


def _label(raw: bytes, uid: int) -> str:
    """A short, inert name for a message in the fetch log: its Message-ID, else its UID."""
    head = raw[:8192].decode("ascii", errors="replace")
    for line in head.splitlines():
        if line.lower().startswith("message-id:"):
            ids = rules.message_ids(line)
            if ids:
                return "".join(ch for ch in ids[0][:80] if ch.isprintable())
    return f"uid {uid}"


def for_desk(desk: Desk) -> MailIntake:
    """The intake of a desk: its mailboxes, and every address deskcli sends from (the
    ``[notify]`` email channel's) counted as our own, never to be taken in."""
    notify = desk.config.notify
    own = [str(notify.channels[notify.email].options.get("from") or "")] if notify.email \
        else []
    return MailIntake(desk, desk.config.intake, own_addresses=own)


def mailbox_names(settings: IntakeSettings, only: str | None) -> list[MailboxSettings]:
    if not settings.mailboxes:
        raise InvalidInput("no mailboxes are configured: add an [intake.mailboxes.NAME] table "
                           "to config.toml (see docs/email.md)")
    if only is None:
        return [settings.mailboxes[name] for name in sorted(settings.mailboxes)]
    if only not in settings.mailboxes:
        raise InvalidInput(f"unknown mailbox {only!r}; configured: "
                           f"{', '.join(sorted(settings.mailboxes))}")
    return [settings.mailboxes[only]]

