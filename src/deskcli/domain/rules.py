"""Rules as data: routing, triggers and time-based follow-ups (``rules.toml``).

A desk lead writes rules the way they write a checklist: a TOML file, read with tomllib,
every problem named with the file, the line and what is wrong. This module is pure: it
parses the file, and given one ticket's facts and ``now`` it says whether a rule's
conditions hold and what the rule would change. Running the actions (through the same
ticket service a technician uses), remembering which rule fired on which ticket, and the
scheduler live in ``services/rules.py``.

Episodes: a rule fires at most once per ticket per *condition episode*. An episode
starts when the conditions start to hold and ends when they stop holding for a reason
other than the rule's own change. The clocks the time conditions measure from (the last
update for ``idle``, the last word to the caller for ``silent``, the start of the wait for
``waiting``, creation for ``age``) are the episode's *anchors*: a clock restarted by
someone else starts a new episode, a clock restarted by the rule itself does not.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .enums import Channel, Priority, Status, TicketType
from .errors import InvalidInput
from .sla import SlaState
from .tags import parse_tag
from .validation import parse_duration

#: When a rule is evaluated: a new ticket, a change to one, a caller's reply, or the
#: scheduler's periodic pass.
EVENTS = ("create", "update", "reply", "schedule")

#: Condition keys and what each tests (docs/rules.md has the same list).
CONDITIONS: dict[str, str] = {
    "text_has": "any of these words or phrases in the summary, the caller's words, the "
                "error text or the email (whole words, case-folded)",
    "client": "the ticket's client is one of these",
    "tier": "the client's contract tier is one of these",
    "priority": "P1 to P4",
    "status": "the ticket's status",
    "channel": "how the ticket came in",
    "type": "incident, request, problem or change",
    "category": "the ticket's category",
    "caller": "the caller's email address or name",
    "tag": "the ticket carries one of these tags",
    "idle": "at least this long since the last update",
    "waiting": "at least this long waiting on the caller (pending-caller, or resolved and "
               "waiting for the caller to confirm)",
    "silent": "at least this long since the caller last heard from us",
    "age": "at least this long since the ticket was opened",
    "sla": "the SLA state: at-risk or breached (either when both are listed)",
    "business_hours": "true: inside the team calendar's open hours; false: outside",
}

#: Action keys, in the order a rule's actions run.
ACTIONS: dict[str, str] = {
    "priority": "set the priority",
    "type": "set the type",
    "category": "set the category",
    "queue": "move to a queue",
    "tag": "add a tag (as deskcli set --tag writes it)",
    "assign": "a handle, round-robin:GROUP or least-loaded:GROUP",
    "status": "change the status (resolved re-uses the recorded resolution; closed closes)",
    "escalate": "escalate to this queue",
    "close": "true: close the ticket if it is resolved (the close gates still apply)",
    "note": "add an internal note",
    "reply": "send this canned reply (a snippet name) to the caller",
    "notify": "post to this chat channel",
}

RULE_KEYS = frozenset({"name", "on", "if", "then", "enabled", "description"})
TIME_CONDITIONS = ("idle", "waiting", "silent", "age")
WAITING_STATUSES = frozenset({Status.PENDING_CALLER.value, Status.RESOLVED.value})
SLA_STATES = (SlaState.AT_RISK.value, SlaState.BREACHED.value)
MAX_NAME = 80
MAX_NOTE = 4000
_DAYS = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(.*?)\s*$", re.IGNORECASE)
_WORD = re.compile(r"\w+(?:['’.\-]\w+)*")


class RulesFileError(InvalidInput):
    """A rules file that cannot be used; ``problems`` are ``(line, problem)`` pairs, and the
    message names each as ``file:line: problem`` (one per line)."""

    def __init__(self, source: str, problems: Sequence[tuple[int | None, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(where(source, line) + f": {problem}"
                                   for line, problem in self.problems))


def where(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line else source


def parse_span(text: str) -> timedelta:
    """A duration as the CLI writes it (``90m``, ``2h``, ``1h30m``), plus whole or
    fractional days (``3d``, ``1d12h``), which follow-ups need."""
    raw = str(text)
    match = _DAYS.match(raw)
    days = float(match.group(1)) if match and match.group(1) else 0.0
    rest = match.group(2) if match else raw
    if days and not rest:
        return timedelta(days=days)
    try:
        span = parse_duration(rest) + timedelta(days=days)
    except InvalidInput:
        raise InvalidInput(f"{raw!r} is not a duration: use forms like 2h, 90m, 1h30m, 3d "
                           "or 1d12h") from None
    return span


def words_of(text: str) -> str:
    """Text as a space-padded run of case-folded words, so ``" refund "`` in it means the
    whole word (and ``" login error "`` the whole phrase)."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


# --- the rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Conditions:
    """All must hold. Empty sets and None mean "not tested"."""

    text_has: tuple[str, ...] = ()
    client: frozenset[str] = frozenset()
    tier: frozenset[str] = frozenset()
    priority: frozenset[str] = frozenset()
    status: frozenset[str] = frozenset()
    channel: frozenset[str] = frozenset()
    type: frozenset[str] = frozenset()
    category: frozenset[str] = frozenset()
    caller: frozenset[str] = frozenset()
    tag: frozenset[str] = frozenset()
    idle: timedelta | None = None
    waiting: timedelta | None = None
    silent: timedelta | None = None
    age: timedelta | None = None
    sla: frozenset[str] = frozenset()
    business_hours: bool | None = None

    def time_keys(self) -> tuple[str, ...]:
        return tuple(k for k in TIME_CONDITIONS if getattr(self, k) is not None)


@dataclass(frozen=True)
class Actions:
    priority: str | None = None
    type: str | None = None
    category: str | None = None
    queue: str | None = None
    tag: str | None = None
    assign: str | None = None
    status: str | None = None
    escalate: str | None = None
    close: bool = False
    note: str | None = None
    reply: str | None = None
    notify: str | None = None

    def planned(self) -> dict[str, Any]:
        """What the rule changes, as ``field → new value`` (plus note/reply/notify)."""
        out: dict[str, Any] = {}
        for key in ("priority", "type", "category", "queue", "tag", "assign"):
            value = getattr(self, key)
            if value is not None:
                out["assignee" if key == "assign" else key] = value
        if self.status is not None:
            out["status"] = self.status
        if self.escalate is not None:
            out["queue"] = self.escalate
            out["status"] = Status.ESCALATED.value
        if self.close:
            out["status"] = Status.CLOSED.value
        for key in ("note", "reply", "notify"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Rule:
    name: str
    on: str
    when: Conditions
    then: Actions
    #: The line of the rule's ``[[rule]]`` header, for messages.
    line: int = 0
    enabled: bool = True
    description: str = ""
    #: Line of each key inside the rule (condition and action keys), for later checks
    #: that need the configuration (snippets, channels, groups).
    lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


@dataclass(frozen=True)
class RuleSet:
    source: str
    rules: tuple[Rule, ...] = ()

    def for_event(self, event: str) -> list[Rule]:
        return [r for r in self.rules if r.enabled and r.on == event]

    def by_name(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


EMPTY = RuleSet("")


# --- parsing ---------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]")


class _Locator:
    """Lines of each ``[[rule]]`` and of keys inside it (tomllib gives no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.starts = [n for n, line in enumerate(self.lines, start=1) if _HEADER.match(line)]

    def rule_line(self, index: int) -> int | None:
        return self.starts[index] if index < len(self.starts) else None

    def key_line(self, index: int, key: str) -> int | None:
        start = self.rule_line(index)
        if start is None:
            return None
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.lines) + 1
        pattern = re.compile(rf"(^|[{{,\s]){re.escape(key)}\s*=")
        for number in range(start + 1, end):
            if pattern.search(self.lines[number - 1]):
                return number
        return start


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _vocabulary(key: str, values: list[str]) -> frozenset[str]:
    parse: Callable[[str], Any] = {
        "priority": lambda v: Priority.parse(v),
        "status": lambda v: Status.parse(v, what="status"),
        "channel": lambda v: Channel.parse(v, what="channel"),
        "type": lambda v: TicketType.parse(v, what="type"),
    }[key]
    return frozenset(str(parse(v).value) for v in values)


def _conditions(raw: Mapping[str, Any], fail: Callable[[str, str], None]) -> Conditions:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in CONDITIONS:
            fail(key, f"unknown condition {key!r}; conditions: {', '.join(CONDITIONS)}")
            continue
        try:
            if key in TIME_CONDITIONS:
                if not isinstance(value, str):
                    raise InvalidInput(f"must be a duration in quotes such as \"2h\" or "
                                       f"\"3d\", got {value!r}")
                span = parse_span(value)
                if span <= timedelta(0):
                    raise InvalidInput("must be longer than zero")
                values[key] = span
            elif key == "business_hours":
                if not isinstance(value, bool):
                    raise InvalidInput(f"must be true or false, got {value!r}")
                values[key] = value
            else:
                items = _strings(value)
                if items is None:
                    raise InvalidInput("must be a string or a non-empty list of strings")
                cleaned = [v.strip() for v in items]
                if any(not v for v in cleaned):
                    raise InvalidInput("an empty string matches nothing; remove it")
                if key in ("priority", "status", "channel", "type"):
                    values[key] = _vocabulary(key, cleaned)
                elif key == "sla":
                    bad = [v for v in cleaned if v.lower() not in SLA_STATES]
                    if bad:
                        raise InvalidInput(f"unknown SLA state {bad[0]!r}: use at-risk or "
                                           "breached")
                    values[key] = frozenset(v.lower() for v in cleaned)
                elif key == "tag":
                    values[key] = frozenset(parse_tag(v) for v in cleaned)
                elif key == "text_has":
                    phrases = [words_of(v).strip() for v in cleaned]
                    if any(not p for p in phrases):
                        raise InvalidInput("each entry needs at least one letter or digit")
                    values[key] = tuple(dict.fromkeys(phrases))
                else:
                    values[key] = frozenset(v.casefold() for v in cleaned)
        except InvalidInput as error:
            fail(key, f"condition {key!r}: {error.message}")
    return Conditions(**values)


def _actions(raw: Mapping[str, Any], fail: Callable[[str, str], None]) -> Actions:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in ACTIONS:
            fail(key, f"unknown action {key!r}; actions: {', '.join(ACTIONS)}")
            continue
        try:
            if key == "close":
                if value is not True:
                    raise InvalidInput("must be true (leave it out to not close)")
                values[key] = True
                continue
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"must be a non-empty string, got {value!r}")
            text = value.strip()
            if key == "priority":
                text = Priority.parse(text).value
            elif key == "type":
                text = TicketType.parse(text, what="type").value
            elif key == "status":
                status = Status.parse(text, what="status")
                if status is Status.ESCALATED:
                    raise InvalidInput("use escalate = \"QUEUE\" to escalate (it needs the "
                                       "queue it goes to)")
                text = status.value
            elif key == "tag":
                text = parse_tag(text)
            elif key == "note":
                if len(text) > MAX_NOTE:
                    raise InvalidInput(f"longer than {MAX_NOTE} characters")
            elif "\n" in text or len(text) > 200 or not text.isprintable():
                raise InvalidInput("must be one line of plain text, at most 200 characters")
            values[key] = text
        except InvalidInput as error:
            fail(key, f"action {key!r}: {error.message}")
    actions = Actions(**values)
    if actions.escalate and actions.status:
        fail("status", "a rule cannot both escalate and set the status: escalate sets it "
                       "to escalated")
    if actions.close and actions.status not in (None, Status.RESOLVED.value):
        fail("close", "close = true closes the ticket: drop the status, or set it to "
                      "resolved (resolve, then close)")
    if actions.close and actions.escalate:
        fail("close", "a rule cannot both escalate and close")
    return actions


def parse_rules(text: str, source: str) -> RuleSet:
    """Parse a rules file, naming every problem found (not only the first)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise RulesFileError(source, [(int(match.group(1)) if match else None,
                                       f"not valid TOML: {error}")]) from None
    loc = _Locator(text)
    problems: list[tuple[int | None, str]] = []
    unknown = sorted(set(document) - {"rule"})
    for key in unknown:
        found = next((n for n, line in enumerate(loc.lines, 1)
                      if re.match(rf"\s*\[?\[?\s*{re.escape(key)}\b", line)), None)
        problems.append((found, f"unknown table or key {key!r}: a rules file holds only "
                                "[[rule]] tables"))
    raw_rules = document.get("rule", [])
    if not isinstance(raw_rules, list):
        problems.append((None, "'rule' must be written as [[rule]] tables"))
        raw_rules = []
    rules: list[Rule] = []
    names: dict[str, int | None] = {}
    for index, raw in enumerate(raw_rules):
        start = loc.rule_line(index)
        if not isinstance(raw, dict):
            problems.append((start, "each rule must be a [[rule]] table"))
            continue
        lines: dict[str, int] = {}

        def line_of(key: str, index: int = index, lines: dict[str, int] = lines
                    ) -> int | None:
            found = loc.key_line(index, key)
            if found is not None:
                lines[key] = found
            return found

        def fail(key: str, problem: str, index: int = index,
                 line_of: Callable[..., int | None] = line_of) -> None:
            problems.append((line_of(key, index), problem))

        before = len(problems)
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append((start, "every rule needs a name = \"...\" (it is how the "
                                    "timeline says which rule did what)"))
            name = f"rule {index + 1}"
        name = " ".join(name.split())
        if len(name) > MAX_NAME:
            fail("name", f"rule name longer than {MAX_NAME} characters")
        if not name.isprintable():
            fail("name", f"rule name {name!r} has control characters; use plain text")
        if name in names:
            fail("name", f"two rules are named {name!r} (the other at line "
                         f"{names[name]}): each name must be unique")
        names[name] = line_of("name") or start
        for key in sorted(set(raw) - RULE_KEYS):
            fail(key, f"rule {name!r}: unknown key {key!r}; a rule has name, on, if, then "
                      "(and optionally enabled, description)")
        on = raw.get("on")
        if on not in EVENTS:
            fail("on", f"rule {name!r}: on = {on!r} is not an event; use one of "
                       f"{', '.join(EVENTS)}")
        raw_if = raw.get("if", {})
        raw_then = raw.get("then")
        if not isinstance(raw_if, dict):
            fail("if", f"rule {name!r}: 'if' must be a table such as "
                       "{ priority = [\"P1\"] }")
            raw_if = {}
        if not isinstance(raw_then, dict) or not raw_then:
            fail("then", f"rule {name!r}: 'then' must be a table with at least one action "
                         "such as { queue = \"billing\" }")
            raw_then = {}
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            fail("enabled", f"rule {name!r}: enabled must be true or false")
            enabled = True
        description = raw.get("description", "")
        if not isinstance(description, str):
            fail("description", f"rule {name!r}: description must be a string")
            description = ""
        def named(key: str, problem: str, name: str = name,
                  fail: Callable[[str, str], None] = fail) -> None:
            fail(key, f"rule {name!r}: {problem}")

        conditions = _conditions(raw_if, named)
        actions = _actions(raw_then, named)
        if on == "schedule" and not (conditions.time_keys() or conditions.sla
                                     or conditions.business_hours is not None):
            fail("if", f"rule {name!r}: a schedule rule needs a time condition (idle, "
                       "waiting, silent, age), sla or business_hours; otherwise it belongs "
                       "on create or update")
        if len(problems) == before:
            for key in ("reply", "notify", "assign"):  # what the config checks name
                if key in raw_then:
                    line_of(key)
            rules.append(Rule(name=name, on=str(on), when=conditions, then=actions,
                              line=start or 0, enabled=enabled, description=description,
                              lines=dict(lines)))
    if problems:
        raise RulesFileError(source, problems)
    return RuleSet(source, tuple(rules))


# --- a ticket's facts, and evaluation ----------------------------------------------------


@dataclass(frozen=True)
class TicketView:
    """What rules may test about one ticket (gathered by the service from the store)."""

    id: str
    ref: str
    status: str
    priority: str
    type: str
    channel: str
    created_at: datetime
    updated_at: datetime
    #: When the ticket entered its current status.
    status_since: datetime
    #: When the caller last heard from us (None: never, so counted from creation).
    last_contact_at: datetime | None = None
    client: str | None = None
    tier: str | None = None
    category: str | None = None
    queue: str | None = None
    assignee: str | None = None
    caller_name: str | None = None
    caller_email: str | None = None
    tags: frozenset[str] = frozenset()
    #: Summary, the caller's words, error text and email bodies, as ``words_of`` gives.
    words: str = " "
    sla: str = SlaState.OK.value
    #: On a reply event, which message it is: every reply is an episode of its own.
    reply_key: str | None = None

    def anchor(self, key: str) -> datetime:
        """The moment the time condition ``key`` measures from."""
        if key == "idle":
            return self.updated_at
        if key == "silent":
            return self.last_contact_at or self.created_at
        if key == "waiting":
            return self.status_since
        return self.created_at


def anchors(rule: Rule, view: TicketView) -> str:
    """The episode's anchors: the clocks the rule's time conditions measure from (and, for
    a reply rule, the reply itself), as ``idle=<time>;silent=<time>`` in the store's
    timestamp format, so the store can compare them in SQL too (``anchor_sql``)."""
    from .timefmt import to_iso

    parts = [f"{key}={to_iso(view.anchor(key))}" for key in rule.when.time_keys()]
    if rule.on == "reply" and view.reply_key:
        parts.append(f"reply={view.reply_key}")
    return ";".join(parts)


def python_only(rule: Rule) -> bool:
    """Whether some condition can only be decided in Python (the rest SQL decides)."""
    c = rule.when
    return bool(c.text_has or any(
        not v.isascii() for v in (*c.category, *c.client, *c.tier, *c.caller)))


def _in(allowed: frozenset[str], value: str | None, *, fold: bool = False) -> bool:
    if not allowed:
        return True
    if value is None:
        return False
    return (value.casefold() if fold else value) in allowed


def static_holds(rule: Rule, view: TicketView, *, business_open: bool | None) -> bool:
    """The conditions that are not waits: fields, words, SLA state and business hours."""
    c = rule.when
    if not (_in(c.priority, view.priority) and _in(c.status, view.status)
            and _in(c.channel, view.channel) and _in(c.type, view.type)
            and _in(c.client, view.client, fold=True) and _in(c.tier, view.tier, fold=True)
            and _in(c.category, view.category, fold=True)):
        return False
    if c.caller and not ({(view.caller_email or "").casefold(),
                          (view.caller_name or "").casefold()} & c.caller):
        return False
    if c.tag and not (view.tags & c.tag):
        return False
    if c.text_has and not any(f" {phrase} " in view.words for phrase in c.text_has):
        return False
    if c.sla and view.sla not in c.sla:
        return False
    if c.waiting is not None and view.status not in WAITING_STATUSES:
        return False
    return not (c.business_hours is not None and business_open is not None
                and business_open != c.business_hours)


def waits_hold(rule: Rule, view: TicketView, now: datetime) -> bool:
    """Whether every time condition has run its length by ``now``."""
    c = rule.when
    return all(now - view.anchor(key) >= getattr(c, key) for key in c.time_keys())


def holds(rule: Rule, view: TicketView, now: datetime, *, business_open: bool | None) -> bool:
    """Whether all of a rule's conditions hold for this ticket at ``now``."""
    return static_holds(rule, view, business_open=business_open) and waits_hold(rule, view, now)


@dataclass(frozen=True)
class Episode:
    """The stored state of a rule on a ticket: its latest episode."""

    number: int
    anchors: str
    active: bool


class Decision:
    FIRE = "fire"
    SKIP = "skip"       # holds, but this episode already fired
    END = "end"         # the episode is over: the next time it holds is a new one
    IDLE = "idle"       # does not hold, nothing to record


def decide(rule: Rule, view: TicketView, now: datetime, episode: Episode | None, *,
           business_open: bool | None) -> str:
    """What to do with ``rule`` on this ticket now, given its latest episode."""
    current = anchors(rule, view)
    same_clocks = episode is not None and episode.anchors == current
    if holds(rule, view, now, business_open=business_open):
        if episode is not None and episode.active and same_clocks:
            return Decision.SKIP
        return Decision.FIRE
    if episode is not None and episode.active and (
            not same_clocks or not static_holds(rule, view, business_open=business_open)):
        return Decision.END
    return Decision.IDLE


def describe(rule_name: str, done: Sequence[str]) -> str:
    """The timeline's line for one firing: ``rule 'refund to billing' set queue billing``."""
    return f"rule '{rule_name}' " + ("; ".join(done) if done else "fired (nothing to change)")


def summarise(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """The rules in force, for ``rules list`` and the console's help."""
    out = []
    for rule in rules:
        cond = rule.when
        parts: list[str] = []
        for key in CONDITIONS:
            value = getattr(cond, key)
            if value is None or value == () or value == frozenset():
                continue
            if isinstance(value, timedelta):
                parts.append(f"{key} {format_span(value)}")
            elif isinstance(value, bool):
                parts.append(f"{key} {'yes' if value else 'no'}")
            else:
                parts.append(f"{key} {'|'.join(sorted(value))}")
        actions = ", ".join(f"{k} {v}" if not isinstance(v, bool) else k
                            for k, v in rule.then.planned().items())
        out.append({"name": rule.name, "on": rule.on, "enabled": rule.enabled,
                    "if": "; ".join(parts) or "always", "then": actions, "line": rule.line})
    return out


#: What the dashboard counts, in the order it shows them.
ACTIVITY = {"routed": "Tickets routed", "followed_up": "Followed up",
            "auto_closed": "Auto-closed", "escalated": "Escalated by a rule"}


@dataclass(frozen=True)
class RuleActivity:
    """What rules did in a window: for each kind, the tickets (refs) it happened to."""

    firings: int = 0
    refs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return len(self.refs.get(kind, ()))


def count_activity(fired: Iterable[tuple[str, str | None]]) -> RuleActivity:
    """Fold ``(ticket ref, rule_fired detail JSON)`` pairs into what rules did; a ticket
    counts once per kind however many rules did that to it."""
    import json

    refs: dict[str, dict[str, None]] = {kind: {} for kind in ACTIVITY}
    firings = 0
    for ref, detail in fired:
        firings += 1
        try:
            counts = json.loads(detail or "{}").get("counts", [])
        except (ValueError, AttributeError):
            continue  # a malformed detail (from an old or hostile client) counts as a firing
        for kind in counts if isinstance(counts, list) else ():
            if kind in refs:
                refs[kind][ref] = None
    return RuleActivity(firings, {kind: tuple(found) for kind, found in refs.items()})


def format_span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (
        f"{minutes}m" if minutes else "")
    return text or "0m"


def parse_at(text: str, now: datetime) -> datetime:
    """``--at`` of ``rules test``: a date and time (UTC unless it names an offset), or
    ``+DURATION`` from now (``+3d``, ``+2h30m``) to ask what would fire later."""
    from datetime import UTC

    raw = text.strip()
    if raw.startswith("+"):
        return now + parse_span(raw[1:])
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "T", 1) if " " in raw else raw)
    except ValueError:
        raise InvalidInput(f"--at {text!r} is not a time: use 2026-11-24T14:00 (UTC), "
                           "2026-11-24T14:00+01:00, or +DURATION such as +3d",
                           field="at") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
