"""Sample data for trying deskcli and for the benchmarks.

Tickets are generated with full timelines (creation, status changes, replies, internal
notes, time entries, completed steps) and SLA clocks computed by the domain, then written
with bulk inserts in one transaction so 100,000 tickets load in seconds. Sample data is
never sent to a team server: it is written without sync ops, and a store that has joined
a server refuses it.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from deskcli.domain.enums import Channel, Priority, Status, TicketType
from deskcli.domain.errors import Refused
from deskcli.domain.ids import stable_id
from deskcli.domain.numbering import Authority, next_local_block
from deskcli.domain.sla import SlaPolicy, compute_clock
from deskcli.domain.timefmt import to_iso
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


def seed(store: Store, *, count: int, now: datetime, policy: SlaPolicy,
         new_id: Callable[[], str], rng_seed: int = 7,
         open_share: float | None = None) -> DemoResult:
    """Write ``count`` sample tickets with timelines; returns the numbers used.

    By default most tickets are history and a few hundred are open, like a real desk;
    ``open_share`` (0 to 1) makes a backlog for stress tests.
    """
    if count < 1:
        raise Refused("give at least one ticket to create")
    if any(lease.authority is Authority.SERVER for lease in store.sync.leases()):
        raise Refused("this store has joined a team server; sample data is only for a "
                      "standalone store (use DESKCLI_HOME to try it in a scratch profile)")
    rng = random.Random(rng_seed)
    # The after-care history (escalations, reopens, surveys) draws from its own generator
    # and makes its own ids, so adding it left every earlier sample ticket unchanged.
    care = _AfterCare(random.Random(rng_seed * 7919 + 1), now)
    at_now = to_iso(now)
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
        if highest is not None:
            # Sample data again on a store that has tickets: the after-care history must
            # not repeat the ids of the first load (UNIQUE events.id); its choices stay
            # the same, only the ids are salted by where this batch starts.
            care.salt = uuid.uuid5(uuid.NAMESPACE_OID, f"deskcli-demo-{block.start}").int
        store.sync.save_lease(block.__class__(block.start, block.end, block.end, block.authority),
                         at_now)

        tickets: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        times: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        # Most tickets are history; the open queue is the recent tail, as in a real desk.
        span = timedelta(days=365)
        if open_share is None:
            open_share = min(0.5, 400 / count) if count > 800 else 0.5
        history_count = sum(1 for i in range(count) if i < count * (1 - open_share))
        history = span - timedelta(days=2)
        priorities = [Priority.P1, Priority.P2, Priority.P3, Priority.P4]
        weights = [0.05, 0.25, 0.45, 0.25]
        for i in range(count):
            number = block.start + i
            summary, category, ttype, error, verbatim, resolution, cause = rng.choice(ISSUES)
            priority = rng.choices(priorities, weights)[0]
            caller_id, client_id, tier = rng.choice(callers)
            is_open = i >= count * (1 - open_share)
            if is_open:
                # Spread across the SLA window: mostly on track, some at risk, a few late,
                # as a healthy queue looks at the start of a shift.
                target = policy.target(priority, tier).resolve
                share = rng.choice([0.05, 0.15, 0.3, 0.45, 0.6, 0.8, 0.9, 1.2])
                created = (now - target * share).replace(microsecond=0)
            else:
                # History runs up to two days ago (the slowest fix takes 48 hours), so every
                # window a lead picks, the last 7 days included, has resolved tickets in it.
                created = now - span + timedelta(seconds=int(history.total_seconds() * i
                                                             / max(1, history_count)))
            created_iso = to_iso(created)
            clock = compute_clock(created, priority, policy, tier=tier)
            tech = rng.choice(TECHS)
            ticket_id = new_id()
            responded = created + timedelta(minutes=rng.randint(2, 90))
            if is_open:
                status = rng.choice([Status.NEW, Status.OPEN, Status.IN_PROGRESS,
                                     Status.IN_PROGRESS, Status.PENDING_CALLER,
                                     Status.PENDING_THIRD_PARTY, Status.ESCALATED])
                if responded > now or status is Status.NEW:
                    responded_iso = None
                else:
                    responded_iso = to_iso(responded)
            else:
                status = rng.choice([Status.CLOSED, Status.CLOSED, Status.RESOLVED])
                responded_iso = to_iso(responded)
            resolved_at = (created + timedelta(minutes=rng.randint(20, 60 * 48))
                           if not is_open else None)
            paused_since = (to_iso(now - timedelta(minutes=rng.randint(1, 120)))
                            if status is Status.PENDING_CALLER and policy.pause_on_pending_caller
                            else None)
            key = clock.queue_key(is_open=status.is_open, paused=paused_since is not None,
                                  responded=responded_iso is not None)
            tickets.append({
                "id": ticket_id, "number": number, "provisional": None, "checklist": "tier1",
                "type": ttype.value, "status": status.value, "priority": priority.value,
                "impact": None, "urgency": None, "summary": summary, "caller_id": caller_id,
                "verification": "callback", "verification_detail": "called back number on file",
                "verified_at": created_iso, "verified_by": tech, "verbatim": verbatim,
                "error_text": error, "event_ids": None, "doing": None,
                "reproducible": rng.choice(["yes", "no", "unknown"]),
                "users_affected": 5 if priority is Priority.P1 else 1,
                "client_id": client_id, "asset": f"LAPTOP-{rng.randint(1, 999):04d}",
                "category": category, "channel": rng.choice(list(Channel)).value,
                "assignee": tech, "queue": "networking" if status is Status.ESCALATED else None,
                "root_cause": cause if resolved_at else None,
                "resolution": resolution if resolved_at else None,
                "resolution_category": ttype.value if status is Status.CLOSED else None,
                "created_at": created_iso, "created_by": tech,
                "updated_at": to_iso(resolved_at) if resolved_at else created_iso,
                "first_response_at": responded_iso, "last_contact_at": responded_iso,
                "resolved_at": to_iso(resolved_at) if resolved_at else None,
                "closed_at": to_iso(resolved_at) if status is Status.CLOSED and resolved_at
                else None,
                "response_due": to_iso(clock.response_due),
                "response_risk_at": to_iso(clock.response_risk_at),
                "resolve_due": to_iso(clock.resolve_due),
                "resolve_risk_at": to_iso(clock.resolve_risk_at),
                "sla_paused_since": paused_since, "sla_paused_seconds": 0,
                "urgency_due": to_iso(key) if key else None,
            })
            events.append({"id": new_id(), "ticket_id": ticket_id, "at": created_iso,
                           "actor": tech, "kind": "created",
                           "summary": f"Ticket #{number} opened: {summary}",
                           "detail": json.dumps({"priority": priority.value})})
            steps.append({"id": new_id(), "ticket_id": ticket_id, "checklist": "tier1",
                          "step": "verify_identity", "at": created_iso, "actor": tech,
                          "data": json.dumps({"method": "callback"})})
            if responded_iso:
                note_id = new_id()
                notes.append({"id": note_id, "ticket_id": ticket_id, "at": responded_iso,
                              "author": tech, "internal": 0,
                              "body": f"Your ticket #{number} is logged and {tech} owns it."})
                events.append({"id": new_id(), "ticket_id": ticket_id, "at": responded_iso,
                               "actor": tech, "kind": "public_reply",
                               "summary": f"Reply to caller by {tech}",
                               "detail": json.dumps({"note_id": note_id})})
            if status is not Status.NEW:
                # History was worked before it was resolved: the first move is to in
                # progress, and the resolution (and closure) come as their own events.
                moved_to = Status.IN_PROGRESS if resolved_at else status
                events.append({"id": new_id(), "ticket_id": ticket_id,
                               "at": responded_iso or created_iso, "actor": tech,
                               "kind": "status_changed",
                               "summary": f"Status: new → {moved_to.value}",
                               "detail": json.dumps({"from": "new", "to": moved_to.value})})
            if resolved_at:
                minutes = rng.choice([10, 15, 20, 30, 45, 60, 90])
                times.append({"id": new_id(), "ticket_id": ticket_id,
                              "at": to_iso(resolved_at), "author": tech, "minutes": minutes,
                              "note": None})
                events.append({"id": new_id(), "ticket_id": ticket_id,
                               "at": to_iso(resolved_at), "actor": tech, "kind": "resolved",
                               "summary": f"Resolved: {resolution}",
                               "detail": json.dumps({"root_cause": cause})})
                # The checklist worked through, as a technician ticks it before resolving,
                # so a closed sample ticket never has a step neither done nor skipped.
                steps.extend(_worked_steps(tickets[-1], tech, min(responded, resolved_at),
                                            resolved_at))
                steps.append({"id": new_id(), "ticket_id": ticket_id, "checklist": "tier1",
                              "step": "document_resolution", "at": to_iso(resolved_at),
                              "actor": tech, "data": json.dumps(
                                  {"root_cause": cause, "resolution": resolution})})
                if status is Status.CLOSED:
                    steps.append({"id": new_id(), "ticket_id": ticket_id,
                                  "checklist": "tier1", "step": "log_time_close",
                                  "at": to_iso(resolved_at), "actor": tech,
                                  "data": json.dumps({"resolution_category": ttype.value})})
                    events.append({"id": new_id(), "ticket_id": ticket_id,
                                   "at": to_iso(resolved_at), "actor": tech,
                                   "kind": "closed",
                                   "summary": f"Closed as {ttype.value}; {minutes} min logged",
                                   "detail": json.dumps(
                                       {"resolution_category": ttype.value})})
                care.add(ticket_id, tech, created, responded, resolved_at,
                         status is Status.CLOSED, events, notes)
            if len(tickets) >= 5000:
                _flush(store, tickets, events, notes, times, steps)
                store.bulk_insert("csat_responses", care.answers)
                care.answers.clear()
        _flush(store, tickets, events, notes, times, steps)
        store.bulk_insert("csat_responses", care.answers)
        # Remembered so the store can refuse to join a team server with sample data in it.
        store.set_meta("demo_tickets", str(int(store.meta("demo_tickets") or 0) + count))
    return DemoResult(count, block.start, block.end - 1)


#: Satisfaction scores as a desk sees them: mostly happy, a long unhappy tail.
SCORES = [1, 2, 3, 4, 5]
SCORE_WEIGHTS = [0.05, 0.07, 0.13, 0.35, 0.40]


class _AfterCare:
    """What happens to a ticket around its resolution, so the metrics have texture:
    second replies, waits on the caller, escalations, reopens, surveys and answers."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.answers: list[dict[str, Any]] = []
        #: Mixed into every id; 0 on a first load, so a fresh store gets the same ids.
        self.salt = 0

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128) ^ self.salt, version=4))

    def _event(self, events: list[dict[str, Any]], ticket_id: str, tech: str, at: datetime,
               kind: str, summary: str, detail: dict[str, Any]) -> None:
        events.append({"id": self._id(), "ticket_id": ticket_id, "at": to_iso(at),
                       "actor": tech, "kind": kind, "summary": summary,
                       "detail": json.dumps(detail, sort_keys=True)})

    def add(self, ticket_id: str, tech: str, created: datetime, responded: datetime,
            resolved: datetime, closed: bool, events: list[dict[str, Any]],
            notes: list[dict[str, Any]]) -> None:
        rng, span = self.rng, resolved - responded
        if span > timedelta(minutes=10):
            roll = rng.random()
            middle = responded + span / 2
            if roll < 0.12:
                note_id = self._id()
                notes.append({"id": note_id, "ticket_id": ticket_id, "at": to_iso(middle),
                              "author": tech, "internal": 0,
                              "body": "Could you try again now and tell me what you see?"})
                self._event(events, ticket_id, tech, middle, "public_reply",
                            f"Reply to caller by {tech}", {"note_id": note_id})
            elif roll < 0.20:
                self._event(events, ticket_id, tech, middle, "status_changed",
                            "Status: in-progress → pending-caller",
                            {"from": "in-progress", "to": "pending-caller"})
                back = middle + span / 4
                self._event(events, ticket_id, tech, back, "status_changed",
                            "Status: pending-caller → in-progress",
                            {"from": "pending-caller", "to": "in-progress"})
            elif roll < 0.27:
                self._event(events, ticket_id, tech, middle, "escalated",
                            "Escalated to networking", {"queue": "networking"})
        reopened = resolved + timedelta(hours=rng.randint(2, 30))
        if rng.random() < 0.05 and reopened + timedelta(hours=4) < self.now:
            self._event(events, ticket_id, tech, reopened, "reopened",
                        "Reopened: the caller says it happened again",
                        {"from": "resolved", "reason": "the caller says it happened again"})
            again = reopened + timedelta(hours=rng.randint(1, 4))
            self._event(events, ticket_id, tech, again, "resolved",
                        "Resolved again after the reopen", {"root_cause": "recurrence"})
            resolved = again
        sent = resolved + timedelta(minutes=5)
        if not closed or sent >= self.now:
            return
        self._event(events, ticket_id, tech, sent, "survey_sent",
                    "Satisfaction survey sent (automatic)", {"via": "automatic"})
        answered = sent + timedelta(minutes=rng.randint(10, 60 * 48))
        if rng.random() < 0.35 and answered < self.now:
            score = rng.choices(SCORES, SCORE_WEIGHTS)[0]
            answer_id = self._id()
            self.answers.append({"id": answer_id, "ticket_id": ticket_id,
                                 "at": to_iso(answered), "author": tech, "score": score,
                                 "comment": None})
            self._event(events, ticket_id, tech, answered, "csat",
                        f"Survey answer: {score}/5", {"answer_id": answer_id, "score": score})


def _worked_steps(ticket: dict[str, Any], tech: str, started: datetime,
                  resolved: datetime) -> list[dict[str, Any]]:
    """Step records for the work a sample ticket went through before its resolution.

    Ids come from the ticket id and step key (no draw from the generators), so adding
    these left every other sample value unchanged.
    """
    ticket_id = ticket["id"]
    error = ticket["error_text"] or "no error shown on screen"
    values: list[tuple[str, dict[str, Any]]] = [
        ("capture_issue", {"verbatim": ticket["verbatim"], "doing": "their usual work",
                           "reproducible": ticket["reproducible"],
                           "users_affected": ticket["users_affected"]}),
        ("set_priority", {"priority": ticket["priority"]}),
        ("open_ticket", {"category": ticket["category"], "channel": ticket["channel"],
                         "asset": ticket["asset"]}),
        ("record_errors", {"error_text": error}),
        ("check_changes", {"findings": "no recent changes found near the start"}),
        ("reproduce", {"result": "reproduced-in-user-session", "tool": "remote support"}),
        ("search_kb", {"query": ticket["summary"], "found": "yes"}),
        ("scope_decision", {"decision": "tier1", "reason": "a documented Tier 1 fix"}),
        ("apply_fix", {"runbook": ticket["resolution"]}),
    ]
    if ticket["priority"] == "P1":
        values.append(("page_oncall", {"pager": "pagerduty", "bridge": "incident bridge",
                                       "channel_posted": "yes"}))
    values += [
        ("test_with_user", {"workflow": "the task that failed", "outcome": "works"}),
        ("update_kb", {"outcome": "already-correct"}),
    ]
    step_gap = (resolved - started) / (len(values) + 1)
    return [{"id": stable_id("demo-step", f"{ticket_id}:{key}"), "ticket_id": ticket_id,
             "checklist": "tier1", "step": key,
             "at": to_iso(min(started + step_gap * (n + 1), resolved)), "actor": tech,
             "data": json.dumps(data, sort_keys=True)}
            for n, (key, data) in enumerate(values)]


def _flush(store: Store, *tables: list[dict[str, Any]]) -> None:
    names = ("tickets", "events", "notes", "time_entries", "step_records")
    for name, rows in zip(names, tables, strict=True):
        store.bulk_insert(name, rows)
        rows.clear()
