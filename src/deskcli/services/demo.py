"""Sample data for trying deskcli and for the benchmarks.

Tickets are generated with full timelines (creation, status changes, replies, internal
notes, time entries, completed steps) and SLA clocks computed by the domain, then written
as tuples with one ``executemany`` per table, in transactions of ``BATCH`` tickets with a
checkpoint between them (``storage.bulk``): a million tickets load in minutes with the
log and memory the size of one batch. A large load (``INDEXES_AFTER_FROM``) goes in under
a rollback journal, which holds only the few existing pages a batch changes, and builds
the plain indexes and the full-text indexes (the knowledge base's and the queue's two
trigram indexes of summaries) once, after the rows (``storage.bulk_load``). A smaller load
puts each batch's tickets in the full-text indexes together, in a few statements at the
batch's end, rather than through the per-ticket triggers (which wrote an index segment
per ticket). No parent row is looked up per sample row (they are made together). Sample data is
never sent to a team server: it is written without sync ops (the count of sample tickets
in ``meta`` commits with each batch, so the store refuses to join a server), and a store
that has joined a server refuses it.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from deskcli.domain.enums import Channel, Priority, Status, TicketType
from deskcli.domain.errors import Refused
from deskcli.domain.ids import stable_id
from deskcli.domain.numbering import Authority, next_local_block
from deskcli.domain.sla import SlaPolicy, compute_clock
from deskcli.domain.timefmt import to_iso
from deskcli.storage import bulk_load
from deskcli.storage.bulk import BulkWriter
from deskcli.storage.store import Store

CLIENTS = [
    ("Northwind Dental", "premium"), ("Harbor Logistics", "standard"),
    ("Cedar & Pine Law", "premium"), ("Bluebird Bakery", "basic"),
    ("Atlas Engineering", "standard"), ("Meridian Clinic", "premium"),
    ("Foxglove Studio", "basic"), ("Granite Credit Union", "standard"),
]
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Emeka", "Farah", "Gus", "Hana", "Ivan", "Jo",
         "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Alvarez", "Brooks", "Chen", "Diallo", "Evans", "Fischer", "Garcia", "Haddad",
        "Ito", "Jensen", "Kowalski", "Lopez", "Murphy", "Nakamura", "Okafor", "Patel"]
TECHS = ["dana", "eli", "sam", "rita", "kai"]

# (summary, category, type, error text, caller's words, resolution, root cause)
ISSUES: list[tuple[str, str, TicketType, str | None, str, str, str]] = [
    ("Outlook keeps asking for a password", "email", TicketType.INCIDENT,
     "Need password: Outlook is trying to connect to outlook.office365.com",
     "Every time I open Outlook it wants my password again, I type it and it asks again.",
     "Cleared cached credentials in Windows Credential Manager and rebuilt the Outlook "
     "profile; KB 4567", "Stale token in Credential Manager after the password change"),
    ("Cannot send mail, error 0x800CCC0E", "email", TicketType.INCIDENT,
     "0x800CCC0E: Outlook cannot connect to the SMTP server",
     "Emails sit in my outbox and I get a connection error.",
     "Re-pointed SMTP to smtp.office365.com:587 with STARTTLS in the Outlook account "
     "settings; KB 4412", "Outdated SMTP host left from the old mail provider"),
    ("Locked out after password change", "accounts", TicketType.INCIDENT,
     "Event ID 4740: a user account was locked out",
     "I changed my password this morning and now I am locked out of everything.",
     "Unlocked the account in Entra ID and removed the old password from the iPhone Mail "
     "profile that kept retrying; KB 3301", "Phone mail app retrying the old password"),
    ("VPN disconnects every few minutes", "network", TicketType.INCIDENT,
     "GlobalProtect: gateway unreachable (error 1809)",
     "The VPN keeps dropping and I lose my remote desktop session.",
     "Escalated to networking; gateway MTU reduced to 1400 on the GlobalProtect portal",
     "MTU mismatch on the VPN gateway after the ISP change"),
    ("Printer on 3rd floor shows offline", "printing", TicketType.INCIDENT,
     "The printer HP-3F-01 is offline",
     "Nobody on our floor can print, it just says offline.",
     "Restarted the Print Spooler service on PRN-SRV01 and cleared the stuck job; KB 2210",
     "A corrupt job stuck in the spooler queue"),
    ("New starter needs a laptop and accounts", "onboarding", TicketType.REQUEST, None,
     "We have someone starting Monday and they need a laptop and email.",
     "Provisioned the account in Entra ID, assigned an M365 E3 licence and enrolled "
     "LAPTOP-0231 in Intune; KB 1002", "Standard onboarding request"),
    ("Teams crashes when sharing the screen", "collaboration", TicketType.INCIDENT,
     "Event ID 1000: Application Error, faulting module ms-teams.exe",
     "Teams closes by itself every time I try to share my screen in a meeting.",
     "Cleared the Teams cache folder %appdata%\\Microsoft\\Teams and updated the GPU "
     "driver to 31.0.101; KB 5120", "GPU driver crash during screen capture"),
    ("MFA prompts not arriving on phone", "accounts", TicketType.INCIDENT, None,
     "I don't get the approval notification on my phone any more.",
     "Re-registered Microsoft Authenticator for the user after callback verification; "
     "KB 3390", "Authenticator registration lost after a phone replacement"),
    ("Shared drive mapping missing", "storage", TicketType.INCIDENT,
     "The network path \\\\fs01\\shared was not found",
     "My S: drive has disappeared this morning.",
     "Re-applied the drive-mapping GPO with gpupdate /force after fixing the security "
     "filter on the GPO; KB 2045", "Security filter removed from the drive-mapping GPO"),
    ("Install Adobe Acrobat Pro", "software", TicketType.REQUEST, None,
     "Could you install Acrobat Pro for me, my manager approved it.",
     "Deployed Adobe Acrobat Pro from the Intune company portal and assigned the licence; "
     "KB 1150", "Software request"),
    ("Slow laptop after Patch Tuesday", "hardware", TicketType.PROBLEM,
     "Event ID 41: the system rebooted without cleanly shutting down",
     "Since the updates on Tuesday my laptop takes ages to do anything.",
     "Rolled back KB5034441 through the RMM patch policy for the pilot ring; KB 6001",
     "Faulty cumulative update in the pilot patch ring"),
    ("Firewall rule change for the new CRM", "network", TicketType.CHANGE, None,
     "The vendor says we need port 8443 open to their service.",
     "Added outbound rule for TCP 8443 to crm.vendor.example on FW-EDGE01 under change "
     "CHG-1042; KB 7003", "Planned change"),
]


@dataclass(frozen=True)
class DemoResult:
    tickets: int
    first_number: int
    last_number: int


#: Tickets per transaction: each batch commits whole (with the store's count of sample
#: tickets) and the log is checkpointed before the next (or, for a large load, there is
#: only a rollback journal of the pages it changed), so the log and the memory a load
#: takes stay the size of one batch however many tickets are asked for.
BATCH = 10_000

#: Loads of this many tickets or more build the secondary indexes after the rows.
INDEXES_AFTER_FROM = 20_000
#: The tables a load writes many rows to, whose plain indexes it can build afterwards.
LOADED_TABLES = ("tickets", "events", "notes", "time_entries", "step_records",
                 "csat_responses")

TICKET_COLUMNS = (
    "id", "number", "provisional", "checklist", "type", "status", "priority", "impact",
    "urgency", "summary", "caller_id", "verification", "verification_detail", "verified_at",
    "verified_by", "verbatim", "error_text", "event_ids", "doing", "reproducible",
    "users_affected", "client_id", "asset", "category", "channel", "assignee", "queue",
    "root_cause", "resolution", "resolution_category", "created_at", "created_by",
    "updated_at", "first_response_at", "last_contact_at", "resolved_at", "closed_at",
    "response_due", "response_risk_at", "resolve_due", "resolve_risk_at", "sla_paused_since",
    "sla_paused_seconds", "urgency_due")
EVENT_COLUMNS = ("id", "ticket_id", "at", "actor", "kind", "summary", "detail")
NOTE_COLUMNS = ("id", "ticket_id", "at", "author", "internal", "body")
TIME_COLUMNS = ("id", "ticket_id", "at", "author", "minutes", "note")
STEP_COLUMNS = ("id", "ticket_id", "checklist", "step", "at", "actor", "data")
CSAT_COLUMNS = ("id", "ticket_id", "at", "author", "score", "comment")


def fast_ids(unix_ms: int | None = None) -> Callable[[], str]:
    """UUIDv7 ids for a large load: one timestamp for the run and a counter in the high
    random bits, so each id sorts after the one before and every index on an id column
    grows at its end (random ids scatter a million inserts over the whole index). The
    counter starts at a random point and the low bits are random per run, so two loads
    in the same millisecond do not collide."""
    ms = (time.time_ns() // 1_000_000) if unix_ms is None else unix_ms
    seed = int.from_bytes(os.urandom(10), "big")
    return _Stream(ms, counter=(seed >> 32) & ((1 << 41) - 1), low=seed & 0xFFFFFFFF).next


class _Stream:
    """Ordered UUIDv7-shaped ids: 48-bit time, then a 42-bit counter across rand_a and
    the top of rand_b, then 32 fixed low bits. Each id is two strings joined (the part
    the counter's high bits set changes once per 65,536 ids), handed out by a generator:
    a large load asks for tens of millions."""

    def __init__(self, unix_ms: int, *, counter: int, low: int) -> None:
        ms = f"{unix_ms & ((1 << 48) - 1):012x}"
        self._prefix = f"{ms[:8]}-{ms[8:]}-7"
        self._counter = counter & ((1 << 42) - 1)
        tail = f"{low & 0xFFFFFFFF:08x}"
        # rand_a: the counter's top 12 bits; then the variant (0b10) and 14 more bits;
        # then its low 16 bits and the fixed low 32.
        self._low = [f"{n:04x}{tail}" for n in range(1 << 16)]
        #: The next id: the generator's own ``__next__`` (no Python frame of ours per id).
        self.next: Callable[[], str] = self._ids().__next__

    def __call__(self) -> str:
        return self.next()

    def _ids(self) -> Iterator[str]:
        high, first = self._counter >> 16, self._counter & 0xFFFF
        while True:
            middle = f"{self._prefix}{high >> 14 & 0xFFF:03x}-{0x8000 | (high & 0x3FFF):04x}-"
            for tail in self._low[first:] if first else self._low:
                yield middle + tail
            high, first = high + 1, 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_MICROSECOND = timedelta(microseconds=1)
_DAYS: dict[int, str] = {}
_TIMES = [f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}Z" for s in range(86400)]


def _iso_seconds(seconds: int) -> str:
    """``to_iso`` of a whole number of seconds since the epoch, without strftime."""
    day, rest = divmod(seconds, 86400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
    return prefix + _TIMES[rest]


def _iso(moment: datetime) -> str:
    """``to_iso`` for the generator's hot loop (the same text)."""
    return _iso_seconds((moment - _EPOCH) // _SECOND)


class _Rows:
    """The rows of one chunk of tickets, as tuples in each table's column order."""

    def __init__(self) -> None:
        self.count = 0
        self.tickets: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.notes: list[tuple[Any, ...]] = []
        self.times: list[tuple[Any, ...]] = []
        self.steps: list[tuple[Any, ...]] = []
        self.answers: list[tuple[Any, ...]] = []

    def write(self, bulk: BulkWriter) -> None:
        for table, columns, rows in (
                ("tickets", TICKET_COLUMNS, self.tickets), ("events", EVENT_COLUMNS, self.events),
                ("notes", NOTE_COLUMNS, self.notes), ("time_entries", TIME_COLUMNS, self.times),
                ("step_records", STEP_COLUMNS, self.steps),
                ("csat_responses", CSAT_COLUMNS, self.answers)):
            if rows:
                bulk.insert(table, columns, rows)
                rows.clear()


def seed(store: Store, *, count: int, now: datetime, policy: SlaPolicy,
         new_id: Callable[[], str], rng_seed: int = 7,
         open_share: float | None = None, batch: int = BATCH,
         indexes_after: bool | None = None) -> DemoResult:
    """Write ``count`` sample tickets with timelines; returns the numbers used.

    By default most tickets are history and a few hundred are open, like a real desk;
    ``open_share`` (0 to 1) makes a backlog for stress tests.

    Tickets are written ``batch`` at a time, each batch in a transaction of its own with
    the store's count of sample tickets (``meta.demo_tickets``), so a load interrupted
    part-way leaves whole batches, each counted, and the numbers of the rest unused.

    With ``indexes_after`` (by default for a load of ``INDEXES_AFTER_FROM`` tickets or
    more into a store holding no more than that), the plain indexes of the loaded tables
    are dropped for the load and built again at its end (``storage.bulk_load``); a load
    stopped part-way leaves them recorded, and the next opening of the store builds them.
    """
    if count < 1:
        raise Refused("give at least one ticket to create")
    if any(lease.authority is Authority.SERVER for lease in store.sync.leases()):
        raise Refused("this store has joined a team server; sample data is only for a "
                      "standalone store (use DESKCLI_HOME to try it in a scratch profile)")
    batch = max(1, batch)
    rng = random.Random(rng_seed)
    at_now = to_iso(now)
    bulk = BulkWriter(store)
    with store.transaction():
        clients = []
        for name, tier in CLIENTS:
            existing = store.contacts.client_by_name(name)
            if existing:
                clients.append((existing["id"], existing["contract_tier"]))
                continue
            client_id = stable_id("client", name)
            store.bulk_insert("clients", [{"id": client_id, "name": name,
                                           "contract_tier": tier, "created_at": at_now}])
            clients.append((client_id, tier))
        callers = []
        caller_rows = []
        for index in range(120):
            first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
            client_id, tier = clients[index % len(clients)]
            caller_id = new_id()
            domain = CLIENTS[index % len(CLIENTS)][0].split()[0].lower()
            caller_rows.append({
                "id": caller_id, "name": f"{first} {last}",
                "email": f"{first}.{last}{index}@{domain}.example".lower(),
                "phone": f"+1 555 01{index:02d}"[:15], "client_id": client_id,
                "vip": int(index % 17 == 0), "created_at": at_now})
            callers.append((caller_id, client_id, tier))
        store.bulk_insert("callers", caller_rows)
        highest = store.tickets.highest_number()
        block = next_local_block(store.sync.leases(), size=count, highest_used=highest)
        # The whole block is taken at once: a load stopped part-way leaves its numbers
        # unused rather than handing them out twice.
        store.sync.save_lease(block.__class__(block.start, block.end, block.end,
                                              block.authority),
                         at_now)
    # Ids of the worked steps and of the after-care history come from their own ordered
    # stream (no draw from ``new_id``), started where this block's numbers start, so a
    # second load on the same store never repeats the first's.
    own_ids = _Stream(int(now.timestamp() * 1000), counter=block.start << 8,
                      low=0x5A3D1E70).next
    care = _AfterCare(random.Random(rng_seed * 7919 + 1), now, own_ids)
    make = _TicketMaker(rng, now, policy, new_id, own_ids, care, callers, count, open_share)
    # Rows are generated in a thread of their own while SQLite writes the previous chunk
    # (it lets go of the GIL while it works), a few chunks ahead at most.
    producer = _Producer(make, count, block.start, batch)
    if indexes_after is None:
        # Worth it when the load is most of what the indexes will hold: rebuilding them
        # over a large existing store for a few sample tickets would cost more.
        indexes_after = count >= INDEXES_AFTER_FROM and count >= store.tickets.count()
    collecting, interval = gc.isenabled(), sys.getswitchinterval()
    # The rows hold no reference cycles; a collection pass over the millions of tuples
    # in flight finds nothing and costs a few per cent of the load.
    gc.disable()
    # The writer lets go of the GIL for every statement SQLite runs and needs it back to
    # bind the next; while the generator holds it, Python hands it over only every
    # switch interval (5 ms by default), so each of the writer's ~80 statements per
    # thousand tickets could wait that long. A shorter interval for the load.
    sys.setswitchinterval(min(interval, 0.0005))
    producer.start()
    try:
        with contextlib.ExitStack() as load:
            # A large load goes in under a rollback journal (new pages are written once,
            # not to a log and then again), with the indexes built after the rows; only
            # when no other connection has the store open (else as any batch goes in).
            unlogged = indexes_after and load.enter_context(bulk_load.rollback_journal(store))
            # The sample rows are made with their tickets: no parent to look up per row.
            load.enter_context(bulk.loading(check_references=False))
            if unlogged:
                # The full-text indexes too: each built in one statement at the end.
                load.enter_context(bulk_load.indexes_deferred(store, LOADED_TABLES,
                                                              text=True))
            done = 0
            while done < count:
                size = min(batch, count - done)
                with store.transaction(), bulk.tickets_indexed_together():
                    written = 0
                    while written < size:
                        rows = producer.next()
                        rows.write(bulk)
                        written += rows.count
                    # Remembered so the store can refuse to join a team server with
                    # sample data in it: counted in the batch's own transaction.
                    store.set_meta("demo_tickets",
                                   str(int(store.meta("demo_tickets") or 0) + written))
                done += written
                if not unlogged:
                    bulk.checkpoint()
            producer.stop()  # before the indexes are built: nothing left to make
    finally:
        producer.stop()
        sys.setswitchinterval(interval)
        if collecting:
            gc.enable()
    return DemoResult(count, block.start, block.end - 1)


#: Tickets generated per hand-over from the generating thread (a batch is several).
CHUNK = 1_000


class _Producer:
    """Generates the sample rows in a background thread, ``CHUNK`` tickets at a time,
    at most a few chunks ahead of the writer (memory stays bounded); an error in the
    generator is raised again in the writer."""

    def __init__(self, make: _TicketMaker, count: int, first_number: int, batch: int) -> None:
        self._make, self._count, self._first, self._batch = make, count, first_number, batch
        self._queue: queue.Queue[_Rows | BaseException] = queue.Queue(maxsize=4)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-rows", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            # Chunks never straddle a batch: each transaction takes whole chunks.
            for batch_start in range(0, self._count, self._batch):
                batch_end = min(batch_start + self._batch, self._count)
                for begin in range(batch_start, batch_end, CHUNK):
                    end = min(begin + CHUNK, batch_end)
                    rows = _Rows()
                    for i in range(begin, end):
                        self._make.ticket(i, self._first + i, rows)
                    rows.count = end - begin
                    if not self._put(rows):
                        return
        except BaseException as error:  # handed to the writer, which raises it
            self._put(error)

    def _put(self, item: _Rows | BaseException) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> _Rows:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


_PRIORITIES = [Priority.P1, Priority.P2, Priority.P3, Priority.P4]
_WEIGHTS = [0.05, 0.25, 0.45, 0.25]
#: What ``choices`` adds up from ``_WEIGHTS`` on every call (the same floats, once).
_CUM_WEIGHTS = list(itertools.accumulate(_WEIGHTS))
_OPEN_STATUSES = [Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.IN_PROGRESS,
                  Status.PENDING_CALLER, Status.PENDING_THIRD_PARTY, Status.ESCALATED]
_DONE_STATUSES = [Status.CLOSED, Status.CLOSED, Status.RESOLVED]
_SHARES = [0.05, 0.15, 0.3, 0.45, 0.6, 0.8, 0.9, 1.2]
_REPRODUCIBLE = ["yes", "no", "unknown"]
_CHANNELS = list(Channel)
_MINUTES = [10, 15, 20, 30, 45, 60, 90]


class _TicketMaker:
    """One sample ticket and its timeline per call, drawing from the generators in the
    same order as ever, so a given seed gives the same tickets as before."""

    def __init__(self, rng: random.Random, now: datetime, policy: SlaPolicy,
                 new_id: Callable[[], str], own_ids: Callable[[], str], care: _AfterCare,
                 callers: list[tuple[str, str, str]], count: int,
                 open_share: float | None) -> None:
        self.rng, self.now, self.policy = rng, now, policy
        self.new_id, self.own_ids, self.care, self.callers = new_id, own_ids, care, callers
        # Most tickets are history; the open queue is the recent tail, as in a real desk.
        self.span = timedelta(days=365)
        if open_share is None:
            open_share = min(0.5, 400 / count) if count > 800 else 0.5
        self.open_from = count * (1 - open_share)
        self.history_count = sum(1 for i in range(count) if i < self.open_from)
        self.history_seconds = (self.span - timedelta(days=2)).total_seconds()
        self._json: dict[Any, str] = {}
        self._json_steps: dict[Any, list[tuple[str, str | None]]] = {}

    def _dumps(self, key: Any, value: Any) -> str:
        """``json.dumps`` of values that repeat (a priority, a status move), made once."""
        text = self._json.get(key)
        if text is None:
            text = self._json[key] = json.dumps(value)
        return text

    def ticket(self, i: int, number: int, rows: _Rows) -> None:
        rng, now, new_id = self.rng, self.now, self.new_id
        issue = rng.choice(ISSUES)
        summary, category, ttype, error, verbatim, resolution, cause = issue
        priority = rng.choices(_PRIORITIES, cum_weights=_CUM_WEIGHTS)[0]
        caller_id, client_id, tier = rng.choice(self.callers)
        is_open = i >= self.open_from
        if is_open:
            # Spread across the SLA window: mostly on track, some at risk, a few late,
            # as a healthy queue looks at the start of a shift.
            target = self.policy.target(priority, tier).resolve
            share = rng.choice(_SHARES)
            created = (now - target * share).replace(microsecond=0)
        else:
            # History runs up to two days ago (the slowest fix takes 48 hours), so every
            # window a lead picks, the last 7 days included, has resolved tickets in it.
            created = now - self.span + timedelta(seconds=int(
                self.history_seconds * i / max(1, self.history_count)))
        created_iso = _iso(created)
        clock = compute_clock(created, priority, self.policy, tier=tier)
        tech = rng.choice(TECHS)
        ticket_id = new_id()
        responded = created + timedelta(minutes=rng.randint(2, 90))
        responded_iso: str | None
        if is_open:
            status = rng.choice(_OPEN_STATUSES)
            responded_iso = None if responded > now or status is Status.NEW else _iso(responded)
        else:
            status = rng.choice(_DONE_STATUSES)
            responded_iso = _iso(responded)
        resolved_at = (created + timedelta(minutes=rng.randint(20, 60 * 48))
                       if not is_open else None)
        resolved_iso = _iso(resolved_at) if resolved_at else None
        paused_since = (_iso(now - timedelta(minutes=rng.randint(1, 120)))
                        if status is Status.PENDING_CALLER and self.policy.pause_on_pending_caller
                        else None)
        key = clock.queue_key(is_open=status.is_open, paused=paused_since is not None,
                              responded=responded_iso is not None)
        reproducible = rng.choice(_REPRODUCIBLE)
        users_affected = 5 if priority is Priority.P1 else 1
        asset = f"LAPTOP-{rng.randint(1, 999):04d}"
        channel = rng.choice(_CHANNELS).value
        closed = status is Status.CLOSED
        rows.tickets.append((
            ticket_id, number, None, "tier1", ttype.value, status.value, priority.value,
            None, None, summary, caller_id, "callback", "called back number on file",
            created_iso, tech, verbatim, error, None, None, reproducible, users_affected,
            client_id, asset, category, channel, tech,
            "networking" if status is Status.ESCALATED else None,
            cause if resolved_at else None, resolution if resolved_at else None,
            ttype.value if closed else None, created_iso, tech,
            resolved_iso or created_iso, responded_iso, responded_iso, resolved_iso,
            resolved_iso if closed and resolved_at else None,
            _iso(clock.response_due), _iso(clock.response_risk_at), _iso(clock.resolve_due),
            _iso(clock.resolve_risk_at), paused_since, 0, _iso(key) if key else None))
        events, steps = rows.events, rows.steps
        events.append((new_id(), ticket_id, created_iso, tech, "created",
                       f"Ticket #{number} opened: {summary}",
                       self._dumps(priority, {"priority": priority.value})))
        steps.append((new_id(), ticket_id, "tier1", "verify_identity", created_iso, tech,
                       '{"method": "callback"}'))
        if responded_iso:
            note_id = new_id()
            rows.notes.append((note_id, ticket_id, responded_iso, tech, 0,
                               f"Your ticket #{number} is logged and {tech} owns it."))
            events.append((new_id(), ticket_id, responded_iso, tech, "public_reply",
                           f"Reply to caller by {tech}", f'{{"note_id": "{note_id}"}}'))
        if status is not Status.NEW:
            # History was worked before it was resolved: the first move is to in
            # progress, and the resolution (and closure) come as their own events.
            moved_to = Status.IN_PROGRESS if resolved_at else status
            events.append((new_id(), ticket_id, responded_iso or created_iso, tech,
                           "status_changed", f"Status: new → {moved_to.value}",
                           self._dumps(("moved", moved_to),
                                       {"from": "new", "to": moved_to.value})))
        if resolved_at and resolved_iso:
            minutes = rng.choice(_MINUTES)
            rows.times.append((new_id(), ticket_id, resolved_iso, tech, minutes, None))
            events.append((new_id(), ticket_id, resolved_iso, tech, "resolved",
                           f"Resolved: {resolution}",
                           self._dumps(("cause", cause), {"root_cause": cause})))
            # The checklist worked through, as a technician ticks it before resolving,
            # so a closed sample ticket never has a step neither done nor skipped.
            self._worked_steps(issue, ticket_id, priority, reproducible, users_affected,
                               asset, channel, tech, min(responded, resolved_at), resolved_at,
                               steps)
            steps.append((new_id(), ticket_id, "tier1", "document_resolution", resolved_iso,
                          tech, self._dumps(("doc", cause, resolution),
                                            {"root_cause": cause, "resolution": resolution})))
            if closed:
                steps.append((new_id(), ticket_id, "tier1", "log_time_close", resolved_iso,
                              tech, self._dumps(("closecat", ttype),
                                                {"resolution_category": ttype.value})))
                events.append((new_id(), ticket_id, resolved_iso, tech, "closed",
                               f"Closed as {ttype.value}; {minutes} min logged",
                               self._dumps(("closecat", ttype),
                                           {"resolution_category": ttype.value})))
            self.care.add(ticket_id, tech, created, responded, resolved_at, closed, rows)

    def _worked_steps(self, issue: tuple[Any, ...], ticket_id: str, priority: Priority,
                      reproducible: str, users_affected: int, asset: str, channel: str,
                      tech: str, started: datetime, resolved: datetime,
                      steps: list[tuple[Any, ...]]) -> None:
        """Step records for the work a sample ticket went through before its resolution.

        The values that repeat across tickets are serialised once per issue; ids come
        from the load's own ordered stream (no draw from the generators)."""
        summary, category, _type, error, verbatim, resolution, _cause = issue
        cache_key = ("worked", summary, reproducible, users_affected, priority)
        values = self._json_steps.get(cache_key)
        if values is None:
            values = self._json_steps[cache_key] = _step_values(
                summary, category, error, verbatim, resolution, reproducible,
                users_affected, priority)
        # In whole microseconds, exactly as datetime arithmetic gives them.
        gap = ((resolved - started) / (len(values) + 1)) // _MICROSECOND
        start = (started - _EPOCH) // _MICROSECOND
        end = (resolved - _EPOCH) // _MICROSECOND
        own = self.own_ids
        for n, (key, data) in enumerate(values, 1):
            if data is None:  # open_ticket: the asset and channel are the ticket's own
                data = (f'{{"asset": "{asset}", "category": {json.dumps(category)}, '
                        f'"channel": "{channel}"}}')
            steps.append((own(), ticket_id, "tier1", key,
                          _iso_seconds(min(start + gap * n, end) // 1_000_000), tech, data))


def _step_values(summary: str, category: str, error: str | None, verbatim: str,
                 resolution: str, reproducible: str, users_affected: int,
                 priority: Priority) -> list[tuple[str, str | None]]:
    """The worked steps' (key, JSON) of one kind of ticket; None where the JSON depends
    on the ticket's own asset and channel."""
    values: list[tuple[str, dict[str, Any] | None]] = [
        ("capture_issue", {"verbatim": verbatim, "doing": "their usual work",
                           "reproducible": reproducible, "users_affected": users_affected}),
        ("set_priority", {"priority": priority.value}),
        ("open_ticket", None),
        ("record_errors", {"error_text": error or "no error shown on screen"}),
        ("check_changes", {"findings": "no recent changes found near the start"}),
        ("reproduce", {"result": "reproduced-in-user-session", "tool": "remote support"}),
        ("search_kb", {"query": summary, "found": "yes"}),
        ("scope_decision", {"decision": "tier1", "reason": "a documented Tier 1 fix"}),
        ("apply_fix", {"runbook": resolution}),
    ]
    if priority is Priority.P1:
        values.append(("page_oncall", {"pager": "pagerduty", "bridge": "incident bridge",
                                       "channel_posted": "yes"}))
    values += [
        ("test_with_user", {"workflow": "the task that failed", "outcome": "works"}),
        ("update_kb", {"outcome": "already-correct"}),
    ]
    return [(key, None if data is None else json.dumps(data, sort_keys=True))
            for key, data in values]


#: Satisfaction scores as a desk sees them: mostly happy, a long unhappy tail.
SCORES = [1, 2, 3, 4, 5]
SCORE_WEIGHTS = [0.05, 0.07, 0.13, 0.35, 0.40]


class _AfterCare:
    """What happens to a ticket around its resolution, so the metrics have texture:
    second replies, waits on the caller, escalations, reopens, surveys and answers."""

    def __init__(self, rng: random.Random, now: datetime, ids: Callable[[], str]) -> None:
        self.rng = rng
        self.now = now
        self._ids = ids

    def _id(self) -> str:
        # The draw is kept (it was once the id itself) so every later choice this
        # generator makes stays the same; the id comes from the load's ordered stream.
        self.rng.getrandbits(128)
        return self._ids()

    def _event(self, rows: _Rows, ticket_id: str, tech: str, at: datetime,
               kind: str, summary: str, detail: dict[str, Any]) -> None:
        rows.events.append((self._id(), ticket_id, _iso(at), tech, kind, summary,
                            json.dumps(detail, sort_keys=True)))

    def add(self, ticket_id: str, tech: str, created: datetime, responded: datetime,
            resolved: datetime, closed: bool, rows: _Rows) -> None:
        rng, span = self.rng, resolved - responded
        if span > timedelta(minutes=10):
            roll = rng.random()
            middle = responded + span / 2
            if roll < 0.12:
                note_id = self._id()
                rows.notes.append((note_id, ticket_id, _iso(middle), tech, 0,
                                   "Could you try again now and tell me what you see?"))
                self._event(rows, ticket_id, tech, middle, "public_reply",
                            f"Reply to caller by {tech}", {"note_id": note_id})
            elif roll < 0.20:
                self._event(rows, ticket_id, tech, middle, "status_changed",
                            "Status: in-progress → pending-caller",
                            {"from": "in-progress", "to": "pending-caller"})
                back = middle + span / 4
                self._event(rows, ticket_id, tech, back, "status_changed",
                            "Status: pending-caller → in-progress",
                            {"from": "pending-caller", "to": "in-progress"})
            elif roll < 0.27:
                self._event(rows, ticket_id, tech, middle, "escalated",
                            "Escalated to networking", {"queue": "networking"})
        reopened = resolved + timedelta(hours=rng.randint(2, 30))
        if rng.random() < 0.05 and reopened + timedelta(hours=4) < self.now:
            self._event(rows, ticket_id, tech, reopened, "reopened",
                        "Reopened: the caller says it happened again",
                        {"from": "resolved", "reason": "the caller says it happened again"})
            again = reopened + timedelta(hours=rng.randint(1, 4))
            self._event(rows, ticket_id, tech, again, "resolved",
                        "Resolved again after the reopen", {"root_cause": "recurrence"})
            resolved = again
        sent = resolved + timedelta(minutes=5)
        if not closed or sent >= self.now:
            return
        self._event(rows, ticket_id, tech, sent, "survey_sent",
                    "Satisfaction survey sent (automatic)", {"via": "automatic"})
        answered = sent + timedelta(minutes=rng.randint(10, 60 * 48))
        if rng.random() < 0.35 and answered < self.now:
            score = rng.choices(SCORES, SCORE_WEIGHTS)[0]
            answer_id = self._id()
            rows.answers.append((answer_id, ticket_id, _iso(answered), tech, score, None))
            self._event(rows, ticket_id, tech, answered, "csat",
                        f"Survey answer: {score}/5", {"answer_id": answer_id, "score": score})
