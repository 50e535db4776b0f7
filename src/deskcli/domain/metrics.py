"""The service-desk numbers, computed from each ticket's timeline.

Definitions (the full wording for leads is docs/metrics.md):

* **Volume**: tickets created in the window.
* **FRT** (first response time): creation → the first caller-facing message (a public
  reply, or a ``message_sent`` event addressed to the caller). Counted for tickets created
  in the window that were answered before the window's end.
* **Response SLA**: of the tickets created in the window whose response clock has run out
  or stopped by the window's end, the share answered by their response due time.
* **Resolution time**: creation → the *first* resolution, minus the time the ticket spent
  in a status the SLA policy pauses. Counted for tickets first resolved in the window.
* **Resolution SLA**: of those, the share whose resolution time is within the target
  (the same rule as ``sla.compute_clock``: due = created + paused + target).
* **FCR**: of those, the share resolved in the first interaction: at most one
  caller-facing message before the resolution, never waiting on the caller, never
  escalated and never reopened (before the window's end).
* **Escalation rate**: of the tickets created in the window, the share escalated.
* **Reopen rate**: of the tickets first resolved in the window, the share reopened.
* **Time logged**: minutes logged per ticket first resolved in the window.
* **CSAT**: the survey answers recorded in the window (the latest per ticket): the share
  of 4 and 5 ratings and the mean score. Survey state per ticket: not sent, pending (sent,
  no answer) or answered; a reopen withdraws a pending survey (it asked about a fix that
  did not hold) and the next closure sends a new one.

Only events before the window's end are read, so a report on a past window does not
change when later work happens. Everything here is pure: the store streams a compact
timeline per ticket (``Timeline``), the domain folds it. Times are whole seconds since
the Unix epoch, which keeps the fold to integer arithmetic over 100,000 tickets.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from statistics import median
from typing import NamedTuple

from deskcli.domain.durations import UNITS_HELP, at_least, parse_duration
from deskcli.domain.enums import Priority, Status
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.sla import SlaPolicy

# --- the compact timeline -------------------------------------------------------------

#: One-letter codes for the events the metrics read; the store emits ``<code><epoch>``.
FIRST_CONTACT = "f"  # public_reply, or message_sent with audience "caller"
PAUSE = "p"  # status changed into a status the SLA policy pauses
RESUME = "u"  # status changed out of a paused status
ESCALATED = "e"
RESOLVED = "r"
REOPENED = "o"
SURVEY_SENT = "s"

CODES = {FIRST_CONTACT, PAUSE, RESUME, ESCALATED, RESOLVED, REOPENED, SURVEY_SENT}


def paused_statuses(policy: SlaPolicy) -> list[str]:
    """The statuses whose time the resolution clock does not count, as stored values."""
    return [status.value for status in Status if policy.pauses(status)]


class Timeline(NamedTuple):
    """What the metrics need to know about one ticket, in the order the store streams it.

    A tuple, not an object: 100,000 of them are folded per report, and the store's rows
    are used as they come. ``ref`` is the number people say (``#4521``). ``events`` is the
    compact form ``"f1795510800 r1795514400"``, oldest first, already cut at the window's
    end; ``minutes`` is the time logged before that end.
    """

    ticket_id: str
    ref: str
    priority: str
    type: str
    client: str | None
    tier: str | None
    tech: str | None
    category: str | None
    error_text: str | None
    created: int
    events: str | None
    minutes: int = 0


class Outcome(NamedTuple):
    """One ticket's timeline folded into the facts the metrics count."""

    first_response: int | None
    first_resolution: int | None
    paused_before_resolution: int
    contacts_before_resolution: int
    waited_on_caller: bool
    escalated: bool
    reopened: bool
    survey_sent: int | None  # the current survey round's sending, None if none pending

    @property
    def first_contact_resolution(self) -> bool:
        return (self.first_resolution is not None and self.contacts_before_resolution <= 1
                and not self.waited_on_caller and not self.escalated and not self.reopened)


def fold(events: str | None) -> Outcome:
    """Walk one ticket's compact timeline once, oldest event first."""
    if not events:
        return _SILENT
    first_response: int | None = None
    first_resolution: int | None = None
    paused = 0
    paused_since: int | None = None
    contacts = 0
    waited = escalated = reopened = False
    survey: int | None = None
    for token in events.split():
        code = token[0]
        at = int(token[1:])
        if code == FIRST_CONTACT:
            if first_response is None:
                first_response = at
            if first_resolution is None:
                contacts += 1
        elif code == PAUSE:
            if paused_since is None:
                paused_since = at
            if first_resolution is None:
                waited = True
        elif code == RESUME:
            if paused_since is not None:
                if first_resolution is None:
                    paused += max(at - paused_since, 0)
                paused_since = None
        elif code == RESOLVED:
            if first_resolution is None:
                first_resolution = at
                if paused_since is not None:  # resolved straight from a paused status
                    paused += max(at - paused_since, 0)
                    paused_since = None
        elif code == ESCALATED:
            escalated = True
        elif code == REOPENED:
            reopened = True
            survey = None
        elif code == SURVEY_SENT:
            survey = at
    return Outcome(first_response, first_resolution, paused, contacts, waited, escalated,
                   reopened, survey)


_SILENT = Outcome(None, None, 0, 0, False, False, False, None)


# --- the window -----------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """``[since, until)`` in whole epoch seconds."""

    since: datetime
    until: datetime

    @property
    def start(self) -> int:
        return int(self.since.timestamp())

    @property
    def end(self) -> int:
        return int(self.until.timestamp())

    def holds(self, at: int | None) -> bool:
        return at is not None and self.start <= at < self.end


def _parse_point(text: str, what: str, now: datetime, *, relative: bool) -> datetime:
    raw = text.strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        pass
    else:
        return datetime.combine(day, time(0), tzinfo=UTC)
    if not relative:
        raise InvalidInput(f"--{what} {text!r} is not a date (2026-01-31)", field=what)
    try:
        span = parse_duration(raw, bare_unit=None)
    except InvalidInput:
        raise InvalidInput(
            f"--{what} {text!r} is not a length of time back (30d, 12w, 6mo) or a date "
            f"(2026-01-31); units: {UNITS_HELP}", field=what) from None
    at_least(span, raw, timedelta(days=1), what=f"--{what}")
    return now - span


def parse_window(since: str | None, until: str | None, now: datetime) -> Window:
    """``--since 30d|DATE`` and ``--until DATE``; the default is the last 30 days.

    A date means the start of that day (UTC); ``--until`` is exclusive, so
    ``--since 2026-01-01 --until 2026-02-01`` is exactly January.
    """
    start = _parse_point(since or "30d", "since", now, relative=True)
    end = _parse_point(until, "until", now, relative=False) if until else now
    if end <= start:
        raise InvalidInput(f"the window is empty: --until ({end.date()}) must come after "
                           f"--since ({start.date()})", field="until")
    return Window(start, end)


# --- grouping -------------------------------------------------------------------------


class GroupBy(StrEnum):
    NONE = "none"
    PRIORITY = "priority"
    TYPE = "type"
    CLIENT = "client"
    TECH = "tech"
    CATEGORY = "category"
    WEEK = "week"

    @classmethod
    def parse(cls, raw: str | None) -> GroupBy:
        text = (raw or "none").strip().lower()
        for member in cls:
            if member.value == text:
                return member
        accepted = ", ".join(m.value for m in cls if m is not GroupBy.NONE)
        raise InvalidInput(f"cannot group by {raw!r}: use one of {accepted}", field="by")


ALL = "all"
NOBODY = "(none)"


@lru_cache(maxsize=4096)
def _week_of_day(day: int) -> str:
    year, week, _ = date.fromordinal(day + _EPOCH_ORDINAL).isocalendar()
    return f"{year}-W{week:02d}"


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def week_of(epoch: int) -> str:
    """ISO week (UTC), e.g. ``2026-W48``: weeks start on Monday, as leads count them."""
    return _week_of_day(epoch // 86400)


#: Where each grouping finds its value in a ``Timeline`` (a position: the rows are plain
#: tuples in ``Timeline`` order, see ``Timeline``).
_GROUP_FIELD = {by: Timeline._fields.index(name) for by, name in (
    (GroupBy.PRIORITY, "priority"), (GroupBy.TYPE, "type"), (GroupBy.CLIENT, "client"),
    (GroupBy.TECH, "tech"), (GroupBy.CATEGORY, "category"))}


def group_key(by: GroupBy, ticket: Timeline, at: int) -> str:
    """The group a figure lands in; by week, the week of the event being measured."""
    if by is GroupBy.NONE:
        return ALL
    if by is GroupBy.WEEK:
        return week_of(at)
    value = ticket[_GROUP_FIELD[by]]
    return str(value) if value else NOBODY


# --- accumulating -----------------------------------------------------------------------


@dataclass
class Tally:
    """The counts behind one group's figures, and the tickets behind each count."""

    created: list[str] = field(default_factory=list)
    responded: MutableSequence[int] = field(default_factory=list)  # FRT seconds
    responded_refs: list[str] = field(default_factory=list)
    response_due: list[str] = field(default_factory=list)  # clock ran out or stopped
    response_met: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    resolved: MutableSequence[int] = field(
        default_factory=list)  # resolution seconds, paused excluded
    resolved_refs: list[str] = field(default_factory=list)
    resolve_met: list[str] = field(default_factory=list)
    fcr: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    minutes: int = 0
    surveys_sent: list[str] = field(default_factory=list)
    surveys_pending: list[str] = field(default_factory=list)
    answers: MutableSequence[int] = field(default_factory=list)
    answer_refs: list[str] = field(default_factory=list)
    satisfied: list[str] = field(default_factory=list)


class Count(list[str]):
    """A list of refs that only counts what is appended to it.

    A report printed by the CLI shows how many tickets stand behind each figure, never
    which: at a million tickets keeping every ref of every figure would hold hundreds of
    megabytes. ``len`` gives the count; iterating gives nothing (no refs to drill into).
    """

    __slots__ = ("n",)

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def append(self, item: str) -> None:
        self.n += 1

    def __len__(self) -> int:
        return self.n

    def __bool__(self) -> bool:
        return self.n > 0


class Recent(list[str]):
    """A list of refs that counts everything appended to it but keeps only the last
    ``keep`` (newest last): what a printed recurring issue shows, for a million tickets
    in the memory of a few."""

    __slots__ = ("n", "keep")

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.n = 0
        self.keep = keep

    def append(self, item: str) -> None:
        self.n += 1
        if not self.keep:
            return
        super().append(item)
        if list.__len__(self) > 2 * self.keep:  # trimmed now and then, not every time
            del self[:-self.keep]

    def __len__(self) -> int:
        return self.n

    def __bool__(self) -> bool:
        return self.n > 0

    def newest(self) -> tuple[str, ...]:
        kept = list.__len__(self)
        return tuple(self[max(0, kept - self.keep):]) if self.keep else ()


def counting_tally() -> Tally:
    """A ``Tally`` that keeps the values figures need (durations, scores) but only counts
    the tickets behind each figure; the durations and scores as machine integers (8 bytes
    each rather than an object each: a million-ticket report keeps two million)."""
    return Tally(created=Count(), responded=array("q"), resolved=array("q"),
                 answers=array("q"), responded_refs=Count(), response_due=Count(),
                 response_met=Count(), escalated=Count(), resolved_refs=Count(),
                 resolve_met=Count(), fcr=Count(), reopened=Count(), surveys_sent=Count(),
                 surveys_pending=Count(), answer_refs=Count(), satisfied=Count())


@dataclass(frozen=True, slots=True)
class Answer:
    """A survey answer as the metrics see it."""

    ticket_id: str
    at: int
    score: int


class Targets:
    """Response and resolution targets in seconds per (priority, tier), looked up once."""

    def __init__(self, policy: SlaPolicy) -> None:
        self._policy = policy
        self._cache: dict[tuple[str, str | None], tuple[int, int]] = {}

    def __call__(self, priority: str, tier: str | None) -> tuple[int, int]:
        key = (priority, tier)
        found = self._cache.get(key)
        if found is None:
            known = tier if tier in self._policy.tiers else None
            target = self._policy.target(Priority(priority), known)
            found = (int(target.response.total_seconds()), int(target.resolve.total_seconds()))
            self._cache[key] = found
        return found


@dataclass
class Report:
    """Every figure per group, with the tickets behind each (refs, newest last)."""

    window: Window
    by: GroupBy
    groups: dict[str, Tally]
    total: Tally
    categories: list[Recurring]
    error_codes: list[Recurring]


@dataclass(frozen=True)
class Recurring:
    """A category or error code seen again and again: the "third repeat" signal."""

    key: str
    refs: tuple[str, ...]
    #: How many tickets in all, when ``refs`` holds only the newest of them.
    seen: int | None = None

    @property
    def count(self) -> int:
        return len(self.refs) if self.seen is None else self.seen


def compute(tickets: Iterable[Timeline], answers: Iterable[Answer], window: Window,
            policy: SlaPolicy, by: GroupBy = GroupBy.NONE, *, top: int = 10,
            repeat: int = 3, refs: bool = True, recurring_refs: int | None = None) -> Report:
    """Fold every ticket and tally it into its group and into the total.

    ``answers`` are the survey answers recorded before the window's end. Written as one
    flat loop on purpose: it runs once per ticket of a 100,000-ticket store. Without
    ``refs`` the figures carry counts but not the tickets behind them (see ``Count``):
    what a printed report needs, in a fraction of the memory. Ungrouped, the one group
    is the total itself, tallied once. ``recurring_refs`` keeps only that many of the
    newest tickets behind each recurring category and error code (their counts stay
    whole).
    """
    start, end = window.start, window.end
    targets = Targets(policy)
    groups: dict[str, Tally] = {}
    new_tally = Tally if refs else counting_tally
    total = new_tally()
    single = by is GroupBy.NONE
    categories: dict[str, list[str]] = {}
    codes: dict[str, list[str]] = {}
    if recurring_refs is None:
        new_refs: Callable[[], list[str]] = list
    else:
        keep = recurring_refs

        def new_refs() -> list[str]:
            return Recent(keep)
    latest: dict[str, Answer] = {}  # the latest answer per ticket
    for given in answers:
        if given.at < end:
            kept = latest.get(given.ticket_id)
            if kept is None or given.at >= kept.at:
                latest[given.ticket_id] = given
    weekly = by is GroupBy.WEEK
    index = _GROUP_FIELD.get(by)

    def tally_of(key: str) -> Tally:
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = total if single else new_tally()
        return tally

    def both(group: Tally) -> tuple[Tally, ...]:
        return (total,) if single else (group, total)

    for ticket in tickets:
        # Unpacked by name (one C-level step, cheaper than indexing field by field).
        (ticket_id, ref, priority, _type, _client, tier, _tech, category, error_text,
         created, events, minutes) = ticket
        outcome = fold(events)
        if weekly:
            group = None
        else:
            group = tally_of(ALL if index is None else str(ticket[index] or NOBODY))
        response_target, resolve_target = targets(priority, tier)
        if start <= created < end:
            first = outcome.first_response
            waited = None if first is None else first - created
            for tally in both(group or tally_of(week_of(created))):
                tally.created.append(ref)
                if outcome.escalated:
                    tally.escalated.append(ref)
                if waited is not None:
                    tally.responded.append(waited)
                    tally.responded_refs.append(ref)
                    tally.response_due.append(ref)
                    if waited <= response_target:
                        tally.response_met.append(ref)
                elif created + response_target < end:
                    tally.response_due.append(ref)  # unanswered past its due time
            if category:
                seen = categories.get(category)
                if seen is None:
                    seen = categories[category] = new_refs()
                seen.append(ref)
            if error_text:
                for code in error_codes(error_text):
                    seen = codes.get(code)
                    if seen is None:
                        seen = codes[code] = new_refs()
                    seen.append(ref)
        resolved = outcome.first_resolution
        if resolved is not None and start <= resolved < end:
            spent = resolved - created - outcome.paused_before_resolution
            fcr = outcome.first_contact_resolution
            for tally in both(group or tally_of(week_of(resolved))):
                tally.resolved.append(spent)
                tally.resolved_refs.append(ref)
                tally.minutes += minutes
                if spent <= resolve_target:
                    tally.resolve_met.append(ref)
                if fcr:
                    tally.fcr.append(ref)
                if outcome.reopened:
                    tally.reopened.append(ref)
        answer = latest.get(ticket_id) if latest else None
        sent = outcome.survey_sent
        if sent is not None and start <= sent < end:
            for tally in both(group or tally_of(week_of(sent))):
                tally.surveys_sent.append(ref)
                if answer is None or answer.at < sent:
                    tally.surveys_pending.append(ref)
        if answer is not None and start <= answer.at:
            for tally in both(group or tally_of(week_of(answer.at))):
                tally.answers.append(answer.score)
                tally.answer_refs.append(ref)
                if answer.score >= 4:
                    tally.satisfied.append(ref)
    return Report(window, by, dict(sorted(groups.items())), total,
                  recurring(categories, top=top, repeat=repeat),
                  recurring(codes, top=top, repeat=repeat))


# --- recurring issues ---------------------------------------------------------------------

_CODE_PATTERNS = (
    re.compile(r"\b0x[0-9a-f]{4,8}\b", re.IGNORECASE),
    re.compile(r"\bevent\s+id\s*:?\s*(\d{1,5})\b", re.IGNORECASE),
    re.compile(r"\berror\s+(?:code\s+)?(\d{2,6})\b", re.IGNORECASE),
)


@lru_cache(maxsize=8192)
def error_codes(text: str | None) -> tuple[str, ...]:
    """The codes in an error text, normalised so the same code groups however typed.

    ``0x800ccc0e`` and ``0x800CCC0E`` become ``0x800CCC0E``; ``event id 4740`` and
    ``Event ID: 4740`` become ``Event ID 4740``; ``error 1809`` becomes ``Error 1809``.
    """
    if not text:
        return ()
    found: list[str] = []
    for match in _CODE_PATTERNS[0].finditer(text):
        found.append("0x" + match.group(0)[2:].upper())
    for match in _CODE_PATTERNS[1].finditer(text):
        found.append(f"Event ID {int(match.group(1))}")
    for match in _CODE_PATTERNS[2].finditer(text):
        found.append(f"Error {int(match.group(1))}")
    return tuple(dict.fromkeys(found))


def recurring(seen: Mapping[str, Sequence[str]], *, top: int, repeat: int) -> list[Recurring]:
    """The ``top`` keys seen at least ``repeat`` times, most frequent first."""
    ranked = sorted(((key, refs) for key, refs in seen.items() if len(refs) >= repeat),
                    key=lambda item: (-len(item[1]), item[0]))
    return [Recurring(key, refs.newest(), len(refs)) if isinstance(refs, Recent)
            else Recurring(key, tuple(refs)) for key, refs in ranked[:top]]


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One number with the counts behind it and the tickets to drill into."""

    metric: str
    value: float | None
    unit: str  # "seconds", "percent", "count", "minutes", "score"
    count: int
    total: int
    refs: tuple[str, ...]


#: (metric key, human label) in report order.
METRICS: tuple[tuple[str, str], ...] = (
    ("volume", "Tickets created"),
    ("frt_median", "First response, median"),
    ("frt_mean", "First response, mean"),
    ("response_sla", "Response SLA met"),
    ("resolution_median", "Resolution time, median"),
    ("resolution_mean", "Resolution time, mean"),
    ("resolution_sla", "Resolution SLA met"),
    ("fcr", "First contact resolution"),
    ("escalation_rate", "Escalation rate"),
    ("reopen_rate", "Reopen rate"),
    ("time_logged", "Time logged per ticket"),
    ("csat", "CSAT (4-5 ratings)"),
    ("csat_mean", "CSAT mean score"),
    ("surveys_pending", "Surveys pending"),
)
LABELS = dict(METRICS)


def _share(metric: str, part: Sequence[str], whole: Sequence[str]) -> Figure:
    value = 100.0 * len(part) / len(whole) if whole else None
    return Figure(metric, value, "percent", len(part), len(whole), tuple(part))


def figures(tally: Tally) -> list[Figure]:
    """A group's tally as the report's figures, in ``METRICS`` order."""
    n_resp, n_res = len(tally.responded), len(tally.resolved)
    return [
        Figure("volume", float(len(tally.created)), "count", len(tally.created),
               len(tally.created), tuple(tally.created)),
        Figure("frt_median", float(median(tally.responded)) if n_resp else None, "seconds",
               n_resp, len(tally.created), tuple(tally.responded_refs)),
        Figure("frt_mean", sum(tally.responded) / n_resp if n_resp else None, "seconds",
               n_resp, len(tally.created), tuple(tally.responded_refs)),
        _share("response_sla", tally.response_met, tally.response_due),
        Figure("resolution_median", float(median(tally.resolved)) if n_res else None,
               "seconds", n_res, n_res, tuple(tally.resolved_refs)),
        Figure("resolution_mean", sum(tally.resolved) / n_res if n_res else None, "seconds",
               n_res, n_res, tuple(tally.resolved_refs)),
        _share("resolution_sla", tally.resolve_met, tally.resolved_refs),
        _share("fcr", tally.fcr, tally.resolved_refs),
        _share("escalation_rate", tally.escalated, tally.created),
        _share("reopen_rate", tally.reopened, tally.resolved_refs),
        # count: minutes logged in all; total: the tickets they were logged on.
        Figure("time_logged", tally.minutes / n_res if n_res else None, "minutes",
               tally.minutes, n_res, tuple(tally.resolved_refs)),
        _share("csat", tally.satisfied, tally.answer_refs),
        Figure("csat_mean", sum(tally.answers) / len(tally.answers) if tally.answers else None,
               "score", len(tally.answers), len(tally.answers), tuple(tally.answer_refs)),
        Figure("surveys_pending", float(len(tally.surveys_pending)), "count",
               len(tally.surveys_pending), len(tally.surveys_sent),
               tuple(tally.surveys_pending)),
    ]


def format_value(figure: Figure) -> str:
    """The figure as a person reads it: ``1h05m``, ``92.5%``, ``4.3``, ``—`` for none."""
    from deskcli.domain.sla import format_span

    if figure.value is None:
        return "—"
    if figure.unit == "seconds":
        return format_span(timedelta(seconds=round(figure.value)))
    if figure.unit == "percent":
        return f"{figure.value:.1f}%"
    if figure.unit == "score":
        return f"{figure.value:.2f}"
    if figure.unit == "minutes":
        return f"{figure.value:.0f}m"
    return f"{figure.value:.0f}"


# --- survey answers -------------------------------------------------------------------------


class SurveyState(StrEnum):
    NOT_SENT = "not-sent"
    PENDING = "pending"
    ANSWERED = "answered"


def survey_state(events: str, answered_at: Sequence[int]) -> SurveyState:
    """Where a ticket's current survey round stands (see the module docstring)."""
    round_start = 0
    sent: int | None = None
    for token in events.split():
        code, at = token[0], int(token[1:])
        if code == REOPENED:
            round_start, sent = at, None
        elif code == SURVEY_SENT:
            sent = at
    if any(at >= round_start for at in answered_at):
        return SurveyState.ANSWERED
    return SurveyState.PENDING if sent is not None else SurveyState.NOT_SENT


def check_score(raw: object) -> int:
    """A survey score is a whole number from 1 (very unhappy) to 5 (very happy)."""
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise InvalidInput(f"score {raw!r} is not a whole number from 1 to 5", field="score")
    return int(text)


def check_answer(ref: str, status: Status, answered_this_round: int | None,
                 at_text: Callable[[int], str]) -> None:
    """An answer is taken for a resolved or closed ticket, once per survey round.

    A second answer to the same round is refused rather than replacing the first: answers
    are an audit record, and a silently replaced score would hide a complaint. After a
    reopen a new round starts and a new answer is taken.
    """
    if status.is_open:
        raise Refused(f"{ref} is {status.value}: a survey answer is only taken for a "
                      "resolved or closed ticket", field="status")
    if answered_this_round is not None:
        raise Refused(f"{ref} already has a survey answer for this resolution (recorded "
                      f"{at_text(answered_this_round)}); answers are never replaced",
                      field="score")


# --- trends ----------------------------------------------------------------------------------

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One block character per value, scaled between the smallest and largest; a gap
    (space) where there is no figure. A flat series sits on the middle bar."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        elif high == low:
            out.append(_BARS[3])
        else:
            out.append(_BARS[round((value - low) / (high - low) * (len(_BARS) - 1))])
    return "".join(out)


def weeks_between(window: Window) -> list[str]:
    """Every ISO week the window touches, oldest first (the trend's x axis)."""
    weeks: list[str] = []
    day = window.start // 86400
    last = (window.end - 1) // 86400
    while day <= last:
        week = _week_of_day(day)
        if not weeks or weeks[-1] != week:
            weeks.append(week)
        day += 1
    return weeks


def trend(report: Report, metric: str) -> list[float | None]:
    """A metric week by week, from a report grouped by week."""
    series: list[float | None] = []
    for week in weeks_between(report.window):
        tally = report.groups.get(week)
        if tally is None:
            series.append(None)
            continue
        figure = next(f for f in figures(tally) if f.metric == metric)
        series.append(figure.value)
    return series
