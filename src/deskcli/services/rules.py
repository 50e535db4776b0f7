"""Running rules: event rules inside the change that caused them, time-based ones in passes.

A rule acts as a technician would: every action goes through ``TicketService`` (the same
validation, transitions and gates), under the rules account's handle. Each action runs in
its own savepoint, so an action the service refuses is written on the timeline as refused
and undoes nothing else. Each firing writes one ``rule_fired`` timeline event naming the
rule and what it did ("rule 'refund to billing' set queue billing"), whose id is the
firing's own deterministic id, and one row in the local firing ledger; both commit with the
actions, so a crash leaves all of it or none, and a rerun finds the firing and skips it.

Who runs what (docs/rules.md): on a solo store, ``RuleRunner.notice`` is chained onto
``TicketService.on_change`` and the event rules run just before the change's transaction
commits (``Store.before_commit``); ``run_schedule`` runs the time-based ones (``deskcli
rules run``, the console's timer). A store joined to a team server runs none: the server's
rules account does (``server/rules.py``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from deskcli.domain import rules as r
from deskcli.domain.enums import Status
from deskcli.domain.errors import DeskError, InvalidInput, NotFound, Refused
from deskcli.domain.ids import stable_id
from deskcli.domain.notify import NotifySettings
from deskcli.domain.numbering import TicketRef, display_ref
from deskcli.domain.roster import is_rule_actor, rule_actor
from deskcli.domain.sla import classify
from deskcli.domain.timefmt import to_iso
from deskcli.services.listeners import EVERY, mark_quiet, quiet_events, quiet_for
from deskcli.services.tickets import TicketService
from deskcli.storage.rows import TicketRow
from deskcli.storage.rules import CandidateQuery, RuleLedger
from deskcli.storage.store import Row, Store

#: The handle rule changes are recorded under on a solo store (the server's rules account
#: has the same handle).
ACTOR = "rules"
#: Rounds of update rules one change may set off (each rule fires at most once per chain,
#: so this bound is reached only by a file with more rules than rounds in one chain).
MAX_ROUNDS = 8
FILE_NAME = "rules.toml"
_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: What a firing counts as on the dashboard, by the actions that took effect.
ROUTING = frozenset({"queue", "assign", "category", "priority", "type", "escalate"})


def rules_path(config_dir: Path) -> Path:
    return config_dir / FILE_NAME


def load_rules(path: Path) -> r.RuleSet:
    """The rules file at ``path`` (an empty set when there is none)."""
    if not path.is_file():
        return r.RuleSet(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise r.RulesFileError(str(path), [(None, f"cannot be read: {error}")]) from None
    return r.parse_rules(text, str(path))


def check_against_config(ruleset: r.RuleSet, *, snippets: Iterable[str],
                         notify: NotifySettings,
                         validate_assign: Callable[[str], None] | None) -> None:
    """Problems only the configuration can reveal: an unknown snippet or chat channel, a
    reply with no email channel, an unknown assignment group. Raises ``RulesFileError``."""
    known = set(snippets)
    problems: list[tuple[int | None, str]] = []
    for rule in ruleset.rules:
        then = rule.then
        if then.reply is not None:
            if then.reply not in known:
                problems.append((rule.line_of("reply"), f"rule {rule.name!r}: no snippet "
                                 f"{then.reply!r}; snippets: {', '.join(sorted(known))} "
                                 "(add it to snippets.toml in the config folder)"))
            if notify.email is None:
                problems.append((rule.line_of("reply"), f"rule {rule.name!r}: a reply goes "
                                 "to the caller by email, and [notify] has no email channel "
                                 "(docs/notifications.md)"))
        if then.notify is not None and then.notify not in notify.channels:
            problems.append((rule.line_of("notify"), f"rule {rule.name!r}: no channel "
                             f"{then.notify!r} in [notify.channels]; configured: "
                             f"{', '.join(sorted(notify.channels)) or 'none'}"))
        elif then.notify is not None and not notify.channels[then.notify].kind.chats:
            problems.append((rule.line_of("notify"), f"rule {rule.name!r}: channel "
                             f"{then.notify!r} is a {notify.channels[then.notify].kind.value} "
                             "channel; notify posts to a chat channel (slack or teams)"))
        if then.assign is not None:
            try:
                check_assign(then.assign, validate_assign)
            except DeskError as error:
                problems.append((rule.line_of("assign"), f"rule {rule.name!r}: action "
                                 f"'assign': {error.message}"))
    if problems:
        raise r.RulesFileError(ruleset.source, problems)


def check_assign(spec: str, validate: Callable[[str], None] | None) -> None:
    kind, _, group = spec.partition(":")
    if group or kind in ("round-robin", "least-loaded"):
        if kind not in ("round-robin", "least-loaded") or not group.strip():
            raise InvalidInput(f"{spec!r} is not an assignment: use a handle, "
                               "round-robin:GROUP or least-loaded:GROUP")
        if validate is None:
            raise InvalidInput("assignment to a group is not available yet in this version "
                               "of deskcli; assign to a handle")
    elif not _HANDLE.fullmatch(spec):
        raise InvalidInput(f"{spec!r} is not a technician's handle")
    if validate is not None:
        validate(spec)


@dataclass
class Firing:
    """One rule firing on one ticket (or, in a dry run, one that would happen)."""

    rule: str
    ticket: str
    ticket_id: str
    event: str
    changes: dict[str, Any]
    did: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "ticket": self.ticket, "on": self.event,
                               "changes": self.changes}
        for key in ("note", "reply", "notify"):
            if key in self.changes:
                out[key] = self.changes[key]
        if self.refused:
            out["refused"] = self.refused
        return out


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class RuleRunner:
    """The rules of one desk, and the two ways they run (event hook, scheduled pass)."""

    def __init__(self, tickets: TicketService, ruleset: r.RuleSet, *,
                 snippets: Mapping[str, str] | None = None,
                 notify: NotifySettings | None = None, planner: Any = None,
                 is_open: Callable[[datetime], bool] | None = None,
                 assignment: Callable[[], Any] | None = None,
                 actor: str = ACTOR, checkpoint: Any = None) -> None:
        self.ruleset = ruleset
        self.tickets = tickets
        self.store: Store = tickets.store
        self.ledger = RuleLedger(self.store)
        # The rules' own service: the same code paths and gates, recorded under their
        # handle. Its notices go wherever the technician's go (the planner, and here).
        self.service = copy.copy(tickets)
        self.service.actor = actor
        self.service.on_change = self._relay
        self.actor = actor
        self.snippets = dict(snippets or {})
        self.notify = notify or NotifySettings()
        self.planner = planner
        self.is_open = is_open
        self._assignment = assignment
        self.checkpoint = checkpoint
        self._pending: dict[str, dict[str, Any]] = {}
        self._flushing = False
        self._touched: set[str] = set()
        self._registered = False
        self._iso: tuple[datetime | None, str] = (None, "")
        #: Firings made since the last ``take_fired``, for commands that print them.
        self.fired: list[Firing] = []

    # --- the event hook ------------------------------------------------------------

    def _relay(self, what: str, ticket_id: str, at: str,
               info: Mapping[str, Any] | None = None) -> None:
        outer = self.tickets.on_change
        if outer is not None:
            outer(what, ticket_id, at, info)
        else:
            self.notice(what, ticket_id, at, info)

    @quiet_for(EVERY)
    def notice(self, what: str, ticket_id: str, at: str,
               info: Mapping[str, Any] | None = None) -> None:
        """Told of every change in its transaction; the rules run just before it commits.
        Only notes the change (the store is first read at ``_flush``): quiet for every
        notice (``services/listeners.py``)."""
        if self._flushing:
            self._touched.add(ticket_id)
            return
        event = {"created": "create", "caller_reply": "reply"}.get(what, "update")
        entry = self._pending.setdefault(ticket_id, {})
        if event == "reply":
            entry["reply"] = dict(info or {})
        else:
            entry[event] = True
        if not self._registered:
            self._registered = True
            self.store.before_commit.append(self._flush)

    def _flush(self) -> None:
        self._registered = False
        pending, self._pending = self._pending, {}
        self._flushing = True
        try:
            for ticket_id, events in pending.items():
                order: list[str] = [e for e in ("create", "reply", "update") if e in events]
                if "create" in events and "update" in order:
                    order.remove("update")  # what happened while it was created is creation
                self.run_events(ticket_id, order, reply=events.get("reply"))
        finally:
            self._flushing = False
            self._touched.clear()

    def run_events(self, ticket_id: str, events: list[str], *,
                   reply: Mapping[str, Any] | None = None) -> list[Firing]:
        """Event rules for one ticket, then update rules for what they changed, in rounds.

        A rule fires at most once per chain, so two rules that undo each other cannot loop;
        a chain that reaches ``MAX_ROUNDS`` stops and says so on the timeline.
        """
        fired: set[str] = set()
        out: list[Firing] = []
        rounds = 0
        current = events
        while current and rounds < MAX_ROUNDS:
            self._touched.discard(ticket_id)
            for event in current:
                # The ticket's facts are read once per event and again only after a rule
                # changed something (a bulk import runs every create rule per ticket).
                cache: dict[str, Any] = {}
                for rule in self.ruleset.for_event(event):
                    if rule.name in fired:
                        continue
                    firing = self._consider(rule, ticket_id, event, cache,
                                            reply=reply if event == "reply" else None)
                    if firing is not None:
                        fired.add(rule.name)
                        out.append(firing)
            rounds += 1
            current = ["update"] if ticket_id in self._touched and any(
                rule.name not in fired for rule in self.ruleset.for_event("update")) else []
        if current:
            if self._find(ticket_id) is not None:
                self.service.record_event(ticket_id, self.service_now(), "rules_stopped",
                                    f"Rules stopped after {MAX_ROUNDS} rounds of changes on "
                                    "this ticket; check rules.toml for rules that keep "
                                    "answering each other", {"fired": sorted(fired)})
        return out

    def service_now(self) -> str:
        return to_iso(self.tickets.now())

    def _consider(self, rule: r.Rule, ticket_id: str, event: str, cache: dict[str, Any], *,
                  reply: Mapping[str, Any] | None) -> Firing | None:
        now = self.tickets.now()
        if "row" not in cache:
            rows = self.ledger.views([ticket_id])
            cache["row"] = rows[0] if rows else None
            cache["episodes"] = self.ledger.episodes_of_ticket(ticket_id) if rows else {}
        row = cache["row"]
        if row is None:
            return None
        words, tags = bool(rule.when.text_has), bool(rule.when.tag)
        key = f"view{'+words' if words else ''}{'+tags' if tags else ''}"
        view = cache.get(key)
        if view is None:
            view = cache[key] = self.view(row, now, reply=reply, want_words=words,
                                          want_tags=tags)
        episode = self._episode(cache["episodes"].get(rule.name))
        decision = r.decide(rule, view, now, episode, business_open=self._open(now))
        if decision == r.Decision.END:
            self.ledger.end(rule.name, [ticket_id])
            cache.clear()
        if decision != r.Decision.FIRE:
            return None
        cache.clear()
        return self._fire(rule, view, event, now, reply=reply)

    # --- facts ------------------------------------------------------------------------

    def _open(self, now: datetime) -> bool:
        return True if self.is_open is None else bool(self.is_open(now))

    @staticmethod
    def _episode(row: Row | None) -> r.Episode | None:
        if row is None:
            return None
        return r.Episode(int(row["episode"]), str(row["anchors"]), bool(row["active"]))

    def view(self, row: Row, now: datetime, *, reply: Mapping[str, Any] | None = None,
             want_words: bool = True, want_tags: bool = True) -> r.TicketView:
        """A ticket's rule facts from a ``RuleLedger`` row."""
        words = " "
        if want_words:
            texts = [row.get("summary"), row.get("verbatim"), row.get("error_text"),
                     row.get("event_ids")]
            if reply is not None:
                texts.append(str(reply.get("text") or ""))
            else:
                texts.append(self.ledger.latest_caller_reply(row["id"]))
            words = r.words_of("\n".join(t for t in texts if t))
        status = Status(row["status"])
        if self._iso[0] != now:
            self._iso = (now, to_iso(now))
        iso_now = self._iso[1]
        sla = classify(now=iso_now, is_open=status.is_open,
                       paused=row["sla_paused_since"] is not None,
                       response_due=row["response_due"],
                       response_risk_at=row["response_risk_at"],
                       first_response_at=row["first_response_at"],
                       resolve_due=row["resolve_due"], resolve_risk_at=row["resolve_risk_at"],
                       resolved_at=row["resolved_at"])
        created = datetime.fromisoformat(row["created_at"])
        return r.TicketView(
            id=row["id"], ref=display_ref(row["number"], row["provisional"]),
            status=row["status"], priority=row["priority"], type=row["type"],
            channel=row["channel"], created_at=created,
            updated_at=datetime.fromisoformat(row["updated_at"]),
            status_since=datetime.fromisoformat(row["status_since"]),
            last_contact_at=_dt(row["last_contact_at"]), client=row["client_name"],
            tier=row["contract_tier"], category=row["category"], queue=row["queue"],
            assignee=row["assignee"], caller_name=row["caller_name"],
            caller_email=row["caller_email"], words=words, sla=sla.value,
            tags=frozenset(self.tickets.tags_of(row["id"])) if want_tags else frozenset(),
            reply_key=str(reply.get("note_id") or reply.get("at") or "reply")
            if reply is not None else None)

    # --- firing ---------------------------------------------------------------------

    def _fire(self, rule: r.Rule, view: r.TicketView, event: str, now: datetime, *,
              reply: Mapping[str, Any] | None) -> Firing | None:
        number = self.ledger.last_episode(rule.name, view.id) + 1
        firing_id = stable_id("rule-firing", f"{rule.name}\n{view.id}\n{number}")
        if self.ledger.has_firing(firing_id):
            return None  # done before (its event arrived by sync from another runner)
        firing = Firing(rule.name, view.ref, view.id, event, rule.then.planned())
        at = to_iso(now)
        # Every change the rule makes is recorded under ``rule:<name>`` (a team server
        # records its rules account instead, from the token, and the rule_fired event
        # still names the rule).
        self.service.actor = rule_actor(rule.name)
        with self.store.transaction():
            for key, run in self._steps(rule, view):
                try:
                    with self.store.savepoint():
                        said = run()
                except DeskError as error:
                    firing.refused.append(f"{key}: {error.message}")
                    continue
                if said:
                    firing.did.append(said)
            done = list(firing.did) + [f"could not {item}" for item in firing.refused]
            kinds = sorted(self._kinds(rule, firing))
            self.store.insert("events", {
                "id": firing_id, "ticket_id": view.id, "at": at,
                "actor": self.service.actor, "kind": "rule_fired",
                "summary": r.describe(rule.name, done),
                "detail": json.dumps({"rule": rule.name, "episode": number, "on": event,
                                      "changes": firing.changes, "refused": firing.refused,
                                      "counts": kinds}, ensure_ascii=False, sort_keys=True)})
            after = self.ledger.views([view.id])
            anchors = r.anchors(rule, self.view(after[0], now, reply=reply, want_words=False)
                                if after else view)
            self.ledger.record({"id": firing_id, "rule": rule.name, "ticket_id": view.id,
                                "episode": number, "event": event, "at": at,
                                "anchors": anchors,
                                "outcome": {"did": firing.did, "refused": firing.refused,
                                            "counts": kinds}})
        self.fired.append(firing)
        return firing

    @staticmethod
    def _kinds(rule: r.Rule, firing: Firing) -> set[str]:
        """What the dashboard counts this firing as (only actions that took effect)."""
        failed = {item.split(":", 1)[0] for item in firing.refused}
        then = rule.then
        took = {k for k in ("queue", "assign", "category", "priority", "type", "escalate",
                            "reply", "close", "status", "notify", "note")
                if getattr(then, k) not in (None, False) and k not in failed}
        out = set()
        if took & ROUTING:
            out.add("routed")
        if "reply" in took:
            out.add("followed_up")
        if "close" in took or ("status" in took and then.status == Status.CLOSED.value):
            out.add("auto_closed")
        if "escalate" in took:
            out.add("escalated")
        return out

    def _steps(self, rule: r.Rule, view: r.TicketView) -> list[tuple[str, Callable[[], str]]]:
        """Each action as ``(key, run)``; ``run`` returns what it did, for the timeline."""
        then = rule.then
        ref = view.id
        svc = self.service
        steps: list[tuple[str, Callable[[], str]]] = []

        def set_field(key: str, value: str) -> Callable[[], str]:
            def run() -> str:
                before = self._ticket(ref)
                if (before.get(key) or "") == value:
                    return ""
                svc.update(self._ref(before), {key: value})
                return f"set {key} {value}"
            return run

        for key in ("priority", "type", "category", "queue"):
            value = getattr(then, key)
            if value is not None:
                steps.append((key, set_field(key, value)))
        if then.tag is not None:
            def tag() -> str:
                change = svc.tag(self._ref(self._ticket(ref)), add=[then.tag or ""])
                return f"tagged {then.tag}" if not change.empty else ""
            steps.append(("tag", tag))
        if then.assign is not None:
            steps.append(("assign", lambda: self._assign(rule, ref, then.assign or "")))
        if then.status is not None:
            steps.append(("status", lambda: self._status(rule, ref, then.status or "")))
        if then.escalate is not None:
            steps.append(("escalate", lambda: self._escalate(rule, ref, then.escalate or "")))
        if then.close:
            steps.append(("close", lambda: self._close(ref)))
        if then.note is not None:
            def note() -> str:
                svc.add_note(self._ref(self._ticket(ref)), then.note or "", internal=True)
                return "added an internal note"
            steps.append(("note", note))
        if then.reply is not None:
            steps.append(("reply", lambda: self._reply(ref, then.reply or "")))
        if then.notify is not None:
            steps.append(("notify", lambda: self._notify(rule, ref, then.notify or "")))
        return steps

    def _find(self, ticket_id: str) -> TicketRow | None:
        try:
            return self.tickets.find(TicketRef(ticket_id=ticket_id))
        except NotFound:
            return None

    def _ticket(self, ticket_id: str) -> TicketRow:
        ticket = self._find(ticket_id)
        if ticket is None:
            raise Refused("the ticket is gone")
        return ticket

    @staticmethod
    def _ref(ticket: TicketRow) -> str:
        return display_ref(ticket["number"], ticket["provisional"])

    def _assign(self, rule: r.Rule, ticket_id: str, spec: str) -> str:
        ticket = self._ticket(ticket_id)
        current = ticket.get("assignee")
        if current and self._taken_by_hand(ticket_id):
            return f"left it with {current} (taken by hand)"
        if self._assignment is None:
            handle: str | None = spec
            if ":" in spec:
                raise Refused("assignment to a group is not available in this build")
        else:
            handle = self._assignment().pick(spec, ticket_id)
            if handle is None:
                raise Refused(f"nobody in {spec.partition(':')[2]} is on shift; the "
                              "ticket stays as it was")
        if handle == current:
            return ""
        self.service.update(self._ref(ticket), {"assignee": handle})
        return f"assigned {handle}"

    def _taken_by_hand(self, ticket_id: str) -> bool:
        """Taking a ticket by hand always wins over a rule: the latest assignment was a
        person's (not a rule's, nor the team server's rules account's)."""
        if self._assignment is not None:
            by_person = bool(self._assignment().assigned_by_person(ticket_id))
            if not by_person:
                return False
        by = self.ledger.last_assigned_by(ticket_id)
        return not (by is not None and (is_rule_actor(by) or by == self.actor))

    def _status(self, rule: r.Rule, ticket_id: str, target: str) -> str:
        ticket = self._ticket(ticket_id)
        if ticket["status"] == target:
            return ""
        ref = self._ref(ticket)
        if target == Status.RESOLVED.value:
            # Resolving needs the root cause and resolution a technician recorded before
            # (a ticket reopened by the caller's reply keeps them).
            self.service.resolve(ref, root_cause=ticket.get("root_cause"),
                                 resolution=ticket.get("resolution"))
        elif target == Status.CLOSED.value:
            self.service.close(ref)
        else:
            self.service.update(ref, {"status": target}, reason=f"rule '{rule.name}'")
        return f"set status {target}"

    def _escalate(self, rule: r.Rule, ticket_id: str, queue: str) -> str:
        ticket = self._ticket(ticket_id)
        if ticket["status"] == Status.ESCALATED.value and ticket.get("queue") == queue:
            return ""
        # A rule escalates for attention (a clock ran out); it says so instead of
        # inventing the diagnosis a technician's escalation carries.
        why = f"escalated by rule '{rule.name}', nothing recorded yet"
        users = ticket.get("users_affected")
        self.service.escalate(
            self._ref(ticket), queue=queue,
            repro=ticket.get("reproducible") or f"not recorded ({why})",
            tried=f"nothing recorded ({why})",
            impact=f"{users} user(s) affected" if users else f"not recorded ({why})",
            error=ticket.get("error_text") or "none recorded")
        return f"escalated to {queue}"

    def _close(self, ticket_id: str) -> str:
        ticket = self._ticket(ticket_id)
        if ticket["status"] == Status.CLOSED.value:
            return ""
        self.service.close(self._ref(ticket))
        return "closed the ticket"

    def _reply(self, ticket_id: str, snippet: str) -> str:
        from deskcli.domain.templates import fill
        from deskcli.services.notify_templates import ticket_values

        ticket = self._ticket(ticket_id)
        text = self.snippets.get(snippet)
        if text is None:
            raise Refused(f"no snippet {snippet!r}")
        if self.notify.email is None or self.planner is None:
            raise Refused("no email channel is configured to send a reply")
        if not ticket.get("caller_email"):
            raise Refused("the caller has no email address")
        from datetime import timedelta

        values = ticket_values(ticket, technician="the service desk", now=self.tickets.now(),
                               checkpoint=self.checkpoint or timedelta(hours=4))
        self.service.add_note(self._ref(ticket), fill(text, values), internal=False)
        return f"sent reply '{snippet}'"

    def _notify(self, rule: r.Rule, ticket_id: str, channel: str) -> str:
        ticket = self._ticket(ticket_id)
        if self.planner is None or channel not in self.notify.channels:
            raise Refused(f"no chat channel {channel!r} is configured")
        ref = self._ref(ticket)
        text = (f"{ref} {ticket['priority']} ({ticket['status']}): {ticket['summary']} "
                f"[rule '{rule.name}']")
        self.planner.post_chat(ticket, channel, self.service_now(), text)
        return f"notified {channel}"

    # --- the scheduled pass -------------------------------------------------------------

    def static_query(self, rule: r.Rule, now: datetime) -> CandidateQuery:
        """The SQL part of a rule's conditions other than the waits."""
        c = rule.when
        q = CandidateQuery()
        q.one_of("t.status", c.status)
        q.one_of("t.priority", c.priority)
        q.one_of("t.channel", c.channel)
        q.one_of("t.type", c.type)
        q.one_of("t.category", c.category, nocase=True)
        q.one_of("k.name", c.client, nocase=True)
        q.one_of("k.contract_tier", c.tier, nocase=True)
        if c.waiting is not None:
            q.one_of("t.status", r.WAITING_STATUSES)
        if c.tag:
            items = sorted(c.tag)
            q.add(f"EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag IN "
                  f"({', '.join('?' for _ in items)}))", *items)
        if c.caller and all(v.isascii() for v in c.caller):
            items = sorted(c.caller)
            marks = ", ".join("?" for _ in items)
            q.add(f"(lower(c.email) IN ({marks}) OR lower(c.name) IN ({marks}))",
                  *items, *items)
        if c.sla:
            # domain.sla.classify, in SQL: the store keeps the due and risk times.
            iso = to_iso(now)
            breached = ("((t.first_response_at IS NULL AND t.response_due <= ?) OR "
                        "(t.sla_paused_since IS NULL AND t.resolve_due <= ?))")
            risky = ("((t.first_response_at IS NULL AND t.response_risk_at <= ?) OR "
                     "(t.sla_paused_since IS NULL AND t.resolve_risk_at <= ?))")
            states = []
            params: list[str] = []
            if "breached" in c.sla:
                states.append(breached)
                params += [iso, iso]
            if "at-risk" in c.sla:
                states.append(f"(NOT {breached} AND {risky})")
                params += [iso, iso, iso, iso]
            q.add("t.status NOT IN ('resolved', 'closed') AND (" + " OR ".join(states) + ")",
                  *params)
        return q

    def query_for(self, rule: r.Rule, now: datetime) -> CandidateQuery:
        """The SQL part of a schedule rule's conditions: the candidate tickets."""
        c = rule.when
        q = self.static_query(rule, now)
        if c.idle is not None:
            q.at_most("t.updated_at", to_iso(now - c.idle))
        if c.silent is not None:
            q.at_most("coalesce(t.last_contact_at, t.created_at)", to_iso(now - c.silent))
        if c.age is not None:
            q.at_most("t.created_at", to_iso(now - c.age))
        if c.waiting is not None:
            q.at_most(self.ledger.status_since_sql(), to_iso(now - c.waiting))
        return q

    def anchor_sql(self, rule: r.Rule) -> str:
        """``domain.rules.anchors`` computed by SQL for the row ``t``."""
        exprs = {"idle": "t.updated_at", "silent": "coalesce(t.last_contact_at, t.created_at)",
                 "waiting": self.ledger.status_since_sql(), "age": "t.created_at"}
        parts = [f"'{key}=' || {exprs[key]}" for key in rule.when.time_keys()]
        return " || ';' || ".join(parts) or "''"

    def run_schedule(self, now: datetime | None = None, *, dry_run: bool = False,
                     ticket_id: str | None = None) -> list[Firing]:
        """One pass of the time-based rules (file order); with ``dry_run`` nothing is
        written and the result says what would fire.

        SQL decides whatever it can: the candidates, and which of them already fired in
        the episode going on. When SQL decides every condition of a rule, each row it
        returns fires, and the episodes that ended are closed by one UPDATE; otherwise the
        candidates (and the tickets with an episode going on) are judged in Python."""
        moment = now or self.tickets.now()
        out: list[Firing] = []
        open_now = self._open(moment)
        #: Episodes that ended are closed together at the end of the pass, in one
        #: transaction (a pass where nothing changed commits nothing per rule).
        enders: list[Callable[[], object]] = []
        for rule in self.ruleset.for_event("schedule"):
            closed_hours = (rule.when.business_hours is not None
                            and rule.when.business_hours != open_now)
            if closed_hours:
                enders.append(partial(self.ledger.end_all, rule.name))
                continue
            if r.python_only(rule):
                out.extend(self._judged_pass(rule, moment, open_now, dry_run, ticket_id,
                                             enders))
                continue
            query = self.query_for(rule, moment)
            if ticket_id is not None:
                query.add("t.id = ?", ticket_id)
            anchor_sql = self.anchor_sql(rule)
            rows = self.ledger.fire_rows(query, rule.name, anchor_sql)
            if dry_run:
                out.extend(Firing(rule.name, display_ref(row["number"], row["provisional"]),
                                  row["id"], "schedule", rule.then.planned()) for row in rows)
                continue
            for row in self.ledger.views([row["id"] for row in rows],
                                         since=rule.when.waiting is not None):
                firing = self._fire(rule, self.view(row, moment, want_words=False),
                                    "schedule", moment, reply=None)
                if firing is not None:
                    out.append(firing)
            static = self.static_query(rule, moment)
            enders.append(partial(self.ledger.end_where, rule.name, static, anchor_sql))
        active = self.ledger.rules_with_episodes()
        if enders and not dry_run and active:
            with self.store.transaction():
                for end in enders:
                    end()
        return out

    def _judged_pass(self, rule: r.Rule, moment: datetime, open_now: bool, dry_run: bool,
                     ticket_id: str | None, enders: list[Callable[[], object]]
                     ) -> list[Firing]:
        """A rule with a condition only Python can decide (words): SQL still narrows the
        candidates to those without an episode going on, and ends the episodes whose
        other conditions or clocks changed; Python judges the words, and looks again at
        an episode's ticket only when it was updated since the firing (words change
        only with an update)."""
        out: list[Firing] = []
        query = self.query_for(rule, moment)
        if ticket_id is not None:
            query.add("t.id = ?", ticket_id)
        anchor_sql = self.anchor_sql(rule)
        words = bool(rule.when.text_has)
        since = rule.when.waiting is not None
        fresh = [row["id"] for row in self.ledger.fire_rows(query, rule.name, anchor_sql)]
        for row in self.ledger.views(fresh, texts=words, since=since):
            view = self.view(row, moment, want_words=words)
            if r.decide(rule, view, moment, None, business_open=open_now) != r.Decision.FIRE:
                continue
            if dry_run:
                out.append(Firing(rule.name, view.ref, view.id, "schedule",
                                  rule.then.planned()))
            elif (firing := self._fire(rule, view, "schedule", moment,
                                       reply=None)) is not None:
                out.append(firing)
        if dry_run:
            return out
        touched = self.ledger.updated_since_firing(rule.name)
        ended = [row["id"] for row in self.ledger.views(touched, texts=words, since=since)
                 if not r.static_holds(rule, self.view(row, moment, want_words=words),
                                       business_open=open_now)]
        static = self.static_query(rule, moment)
        enders.append(partial(self.ledger.end_where, rule.name, static, anchor_sql))
        if ended:
            enders.append(partial(self.ledger.end, rule.name, ended))
        return out

    def test(self, now: datetime, ticket_id: str | None = None) -> list[Firing]:
        """What would fire at ``now``, changing nothing: the time-based rules over every
        ticket (or one), and for one ticket also the event rules whose conditions hold."""
        out: list[Firing] = []
        if ticket_id is not None:
            rows = self.ledger.views([ticket_id])
            episodes = self.ledger.episodes_of_ticket(ticket_id)
            for rule in self.ruleset.rules:
                if not rule.enabled or rule.on == "schedule" or not rows:
                    continue
                view = self.view(rows[0], now, want_words=bool(rule.when.text_has))
                if r.decide(rule, view, now, self._episode(episodes.get(rule.name)),
                            business_open=self._open(now)) == r.Decision.FIRE:
                    out.append(Firing(rule.name, view.ref, view.id, rule.on,
                                      rule.then.planned()))
        out.extend(self.run_schedule(now, dry_run=True, ticket_id=ticket_id))
        order = {rule.name: i for i, rule in enumerate(self.ruleset.rules)}
        out.sort(key=lambda f: order.get(f.rule, 0))
        return out

    def take_fired(self) -> list[Firing]:
        fired, self.fired = self.fired, []
        return fired


def build_runner(desk: Any, *, actor: str = ACTOR, check: bool = True,
                 roster: Any = None) -> RuleRunner:
    """The rule runner of an open desk, from its rules file and configuration (not yet
    hooked into the desk's changes: ``attach_rules`` does that)."""
    ruleset = load_rules(rules_path(desk.paths.config_dir))
    snippets: dict[str, str] = {}
    if any(rule.then.reply for rule in ruleset.rules):
        from deskcli.services.notify_templates import load_snippets

        snippets = load_snippets(desk.paths.config_dir, desk.config.notify)
    assignment = assignment_factory(desk, roster)
    if check:
        check_against_config(ruleset, snippets=snippets, notify=desk.config.notify,
                             validate_assign=_validator(assignment))
    return RuleRunner(desk.tickets, ruleset, snippets=snippets, notify=desk.config.notify,
                      planner=desk.outbound, is_open=desk.config.calendar.is_open,
                      assignment=assignment, actor=actor, checkpoint=desk.config.checkpoint)


def assignment_factory(desk: Any, roster: Any = None) -> Callable[[], Any] | None:
    """How rules assign (``services.assignment``): from the config's technicians on a
    solo store, or from ``roster`` (the server's technician records) on the server."""
    chosen = roster if roster is not None else desk.config.roster

    def make() -> Any:
        # Imported on first use: a desk whose rules never assign does not load it.
        from deskcli.services.assignment import AssignmentService

        return AssignmentService(desk.store, chosen, desk.tickets.now)

    return make


def _validator(factory: Callable[[], Any] | None) -> Callable[[str], None] | None:
    if factory is None:
        return None

    def validate(spec: str) -> None:
        factory().validate(spec)

    return validate


def attach_rules(desk: Any) -> RuleRunner:
    """Run the event rules inside every change the desk's ticket service makes."""
    runner = build_runner(desk)
    wire(desk, runner)
    return runner


def wire(desk: Any, runner: RuleRunner) -> None:
    """Chain the runner onto the ticket service's notices (after the outbound planner)."""
    planner_notice = desk.tickets.on_change

    def chained(what: str, ticket_id: str, at: str,
                info: Mapping[str, Any] | None = None) -> None:
        if planner_notice is not None and what != "updated":
            planner_notice(what, ticket_id, at, info)
        runner.notice(what, ticket_id, at, info)

    # Quiet where both are: the runner always; the planner where it is (or skipped).
    mark_quiet(chained, {EVERY} if planner_notice is None
               else {"updated"} | quiet_events(planner_notice))
    desk.tickets.on_change = chained
    desk.rules = runner


#: Timeline kinds that mean a ticket's fields changed (an ``update`` event for rules that
#: run on changes pulled from a team server).
UPDATE_KINDS = frozenset({"field_changed", "status_changed", "reopened", "escalated",
                          "resolved", "closed"})


def run_pulled(runner: RuleRunner, *, skip_actor: str) -> int:
    """Event rules for the changes that arrived since the last call (the server's rules
    account: it learns of changes by pulling them, not from a notice). Returns how many
    tickets were looked at. The cursor (the events table's rowid) moves in the same
    transaction as the rules' changes, so a crash repeats nothing and skips nothing."""
    store = runner.store
    key = "rules_event_cursor"
    last = store.meta(key)
    if last is None:
        row = store.db.execute("SELECT coalesce(max(rowid), 0) AS n FROM events").fetchone()
        with store.transaction():
            store.set_meta(key, str(row["n"]))  # history is not replayed on the first start
        return 0
    rows = store.db.execute(
        "SELECT rowid AS n, ticket_id, kind, actor, at, detail FROM events WHERE rowid > ? "
        "ORDER BY rowid LIMIT 2000", (int(last),)).fetchall()
    if not rows:
        return 0
    seen: dict[str, None] = {}
    with store.transaction():
        for row in rows:
            actor = str(row["actor"])
            if is_rule_actor(actor) or actor == skip_actor:
                continue  # a rule's own change does not set rules off again
            kind = row["kind"]
            if kind == "created":
                runner.notice("created", row["ticket_id"], row["at"])
            elif kind == "caller_reply":
                detail = json.loads(row["detail"] or "{}")
                note = store.row("notes", str(detail.get("note_id") or ""))
                runner.notice("caller_reply", row["ticket_id"], row["at"],
                              {"text": note["body"] if note else "",
                               "note_id": detail.get("note_id")})
            elif kind in UPDATE_KINDS:
                runner.notice("updated", row["ticket_id"], row["at"])
            else:
                continue
            seen[row["ticket_id"]] = None
        store.set_meta(key, str(rows[-1]["n"]))
    return len(seen)
