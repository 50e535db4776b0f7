"""The ticket fields the CLI prints: their stable names, and how each is worked out.

The queue streams tuples in ``Queue.COLUMNS`` order; ``projector`` turns one into the
fields asked for. Two fields are computed rather than stored: ``sla_state`` (by the
domain's ``classify`` on the stored ISO strings) and ``time_left``. ``deskcli show`` and
``deskcli new --format json`` use the same names, so a script learns them once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from deskcli.domain.enums import Status
from deskcli.domain.sla import classify, format_span
from deskcli.domain.timefmt import to_iso
from deskcli.storage.queue import Queue

#: Names of the tuple positions in ``Queue.COLUMNS`` ("c.name AS caller" → caller).
SOURCE = tuple(part.split(" AS ")[-1].split(".")[-1].strip()
               for part in Queue.COLUMNS.split(","))
_AT = {name: index for index, name in enumerate(SOURCE)}

#: The documented, stable field names (JSON keys, TSV/CSV headers), in JSON order.
FIELDS: dict[str, str] = {
    "number": "Ticket number (integer; empty for a provisional ticket)",
    "ref": "How to name the ticket: #4521, or the provisional label L-xxxx-n",
    "id": "Global ticket id (UUIDv7)",
    "status": "Workflow status",
    "priority": "P1 (most urgent) to P4",
    "type": "incident, request, problem or change",
    "summary": "One-line summary",
    "caller": "Caller's name",
    "client": "Client / organisation",
    "assignee": "Technician who owns the ticket",
    "category": "Category",
    "channel": "How the ticket arrived",
    "created_at": "When it was opened (UTC, ISO 8601)",
    "updated_at": "Last change (UTC)",
    "first_response_at": "First reply to the caller (UTC), empty if none yet",
    "response_due": "First-response deadline (UTC)",
    "resolve_due": "Resolution deadline (UTC), moved out by paused time",
    "resolved_at": "When it was resolved (UTC)",
    "next_due": "The deadline of the most urgent running clock (UTC)",
    "sla_state": "ok, at-risk, breached, paused; met or missed once resolved",
    "time_left": "Time until next_due, e.g. 2h05m; negative once breached",
    "time_left_seconds": "time_left in seconds",
    "tags": "The ticket's tags, sorted: space-separated in tsv, csv and the table; a list "
            "in json",
}
DEFAULT_TEXT_FIELDS = ("number", "priority", "status", "sla_state", "time_left", "client",
                       "caller", "assignee", "summary", "tags")
#: Fields not in the queue's SQL: ``with_tags`` adds them to each row (``TAGS_AT``).
TAGS = "tags"
TAGS_AT = len(SOURCE)
_RENAMED = {"next_due": "urgency_due"}
#: Computed fields, in the order ``projector`` appends them to a row.
_EXTRA = ("sla_state", "time_left", "time_left_seconds", "ref")
_COMPUTED = frozenset(_EXTRA)


def projector(fields: Sequence[str], now: datetime) -> Callable[[tuple[Any, ...]], Any]:
    """A function turning one store tuple into the output tuple for ``fields``.

    This runs once per row of a listing that can be 100,000 rows long, so it is built for
    speed: the computed values are appended to the row and one ``itemgetter`` (C code)
    picks every output field, and each computed field costs only when it is asked for.
    """
    # Rows carry their tags after the SQL's columns when asked for (``with_tags``).
    width = len(SOURCE) + (1 if TAGS in fields else 0)
    extra_at = {name: width + offset for offset, name in enumerate(_EXTRA)}
    extra_at[TAGS] = TAGS_AT
    positions = [extra_at[name] if name in extra_at else _AT[_RENAMED.get(name, name)]
                 for name in fields]
    getter = itemgetter(*positions)
    # With one position itemgetter returns the bare value, so wrap it in a tuple.
    pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] = (
        getter if len(positions) > 1 else lambda row: (getter(row),))
    if not any(name in _COMPUTED for name in fields):
        return pick

    now_iso = to_iso(now)
    now_ts = int(now.timestamp())
    need_state = "sla_state" in fields
    need_left = "time_left" in fields or "time_left_seconds" in fields
    need_ref = "ref" in fields
    i_number, i_prov, i_status = _AT["number"], _AT["provisional"], _AT["status"]
    i_paused, i_due = _AT["sla_paused_since"], _AT["urgency_due"]
    i_rd, i_rr, i_fr = _AT["response_due"], _AT["response_risk_at"], _AT["first_response_at"]
    i_sd, i_sr, i_res = _AT["resolve_due"], _AT["resolve_risk_at"], _AT["resolved_at"]
    closed = frozenset({Status.RESOLVED.value, Status.CLOSED.value})
    fromiso = datetime.fromisoformat
    spans: dict[int, str] = {}

    def project(row: tuple[Any, ...]) -> tuple[Any, ...]:
        state = left = seconds = ref = None
        if need_state:
            # SlaState is a StrEnum: it prints and serialises as its value.
            state = classify(
                now=now_iso, is_open=row[i_status] not in closed,
                paused=row[i_paused] is not None, response_due=row[i_rd],
                response_risk_at=row[i_rr], first_response_at=row[i_fr],
                resolve_due=row[i_sd], resolve_risk_at=row[i_sr], resolved_at=row[i_res])
        if need_left and (due := row[i_due]) is not None:
            seconds = int(fromiso(due).timestamp()) - now_ts
            left = spans.get(seconds)
            if left is None:
                left = spans[seconds] = format_span(timedelta(seconds=seconds))
        if need_ref:
            number = row[i_number]
            ref = f"#{number}" if number is not None else row[i_prov]
        picked: tuple[Any, ...] = pick(row + (state, left, seconds, ref))
        return picked

    return project


def with_tags(rows: Iterable[tuple[Any, ...]],
              tags_of: Callable[[Sequence[str]], Mapping[str, Sequence[str]]], *,
              as_list: bool, batch: int = 1000) -> Iterator[tuple[Any, ...]]:
    """Queue rows with the ticket's tags appended (at ``TAGS_AT``), looked up a batch of
    rows at a time (one indexed query per batch, not one per row): a list for JSON, one
    space-separated string for the text formats ("" for none)."""
    i_id = _AT["id"]
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            yield from _tagged(chunk, tags_of, as_list, i_id)
            chunk = []
    if chunk:
        yield from _tagged(chunk, tags_of, as_list, i_id)


def _tagged(chunk: list[tuple[Any, ...]],
            tags_of: Callable[[Sequence[str]], Mapping[str, Sequence[str]]],
            as_list: bool, i_id: int) -> Iterator[tuple[Any, ...]]:
    found = tags_of([row[i_id] for row in chunk])
    for row in chunk:
        tags = found.get(row[i_id], ())
        yield row + ((list(tags) if as_list else " ".join(tags)),)


def computed_for(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """``sla_state``, ``time_left`` and ``time_left_seconds`` for one ticket row (a dict
    from the store), worked out exactly as the queue does."""
    names = ("sla_state", "time_left", "time_left_seconds")
    values = projector(names, now)(tuple(row.get(name) for name in SOURCE))
    return dict(zip(names, values, strict=True))
