"""How one ticket is shown: as JSON (``show --format json``, ``new --format json``) and
as text for a person (``show``).

The JSON keys extend the queue's field names (see ``fields.FIELDS``) and are documented in
docs/cli.md; add keys freely, never rename one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from deskcli.domain.engine import StepState
from deskcli.domain.numbering import display_ref
from deskcli.domain.sla import clocks_of
from deskcli.domain.timefmt import to_iso
from deskcli.services.tickets import TicketDetail
from deskcli.storage.store import Row

from .fields import computed_for

#: Ticket keys copied as stored, in output order, after number/ref/id.
_PLAIN = ("status", "priority", "type", "summary")
_MORE = ("assignee", "queue", "category", "channel", "asset", "impact", "urgency",
         "verification", "verification_detail", "verbatim", "error_text", "event_ids",
         "doing", "reproducible", "users_affected", "root_cause", "resolution",
         "resolution_category", "checklist", "created_at", "created_by", "updated_at",
         "first_response_at", "last_contact_at", "response_due", "resolve_due",
         "resolved_at", "closed_at", "flagged")


def ticket_json(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One ticket as a JSON object with the documented keys."""
    out: dict[str, Any] = {
        "number": row["number"],
        "ref": display_ref(row["number"], row["provisional"]),
        "id": row["id"],
    }
    out.update((key, row.get(key)) for key in _PLAIN)
    out.update(caller=row.get("caller_name"), caller_email=row.get("caller_email"),
               caller_phone=row.get("caller_phone"), client=row.get("client_name"),
               contract_tier=row.get("contract_tier"))
    out.update((key, row.get(key)) for key in _MORE)
    out["tags"] = list(row.get("tags") or [])
    out["next_due"] = row.get("urgency_due")
    out.update(computed_for(row, now))
    out["clocks"] = {reading.name: {
        "state": reading.state.value, "due": to_iso(reading.due),
        "stopped_at": to_iso(reading.stopped_at) if reading.stopped_at else None,
        "words": reading.words(now)} for reading in clocks_of(row, now)}
    return out


def detail_json(detail: TicketDetail, now: datetime) -> dict[str, Any]:
    """``show --format json``: the ticket plus checklist progress, timeline and time."""
    progress = detail.progress
    out = ticket_json(detail.ticket, now)
    out["checklist_progress"] = {
        "key": progress.checklist.key,
        "title": progress.checklist.title,
        "done": progress.done,
        "applicable": progress.applicable,
        "skipped": progress.skipped_by_hand,
        "complete": progress.complete,
        "current": progress.current.step.key if progress.current else None,
        "steps": [{"key": item.step.key, "title": item.step.title, "phase": item.step.phase,
                   "required": item.step.required, "state": item.state.value,
                   "reason": item.reason or None, "skipped_by_hand": item.by_hand,
                   # What the step recorded (notes, the scope decision's reason, the KB
                   # query), as its field keys and values; null for a step not done.
                   "values": dict(detail.step_values[item.step.key])
                   if item.step.key in detail.step_values else None,
                   "note": None if item.state in (StepState.DONE, StepState.SKIPPED)
                   else detail.notes.get(item.step.key)}
                  for item in progress.items],
    }
    out["parent"] = _link_json(detail.parent)
    out["children"] = [_link_json(child) for child in detail.children]
    out["merged"] = [_link_json(dup) for dup in detail.merged]
    out["merged_into"] = _link_json(detail.merged_target)
    out["timeline"] = [_event_json(event) for event in detail.timeline]
    out["time_entries"] = [{"at": t["at"], "author": t["author"], "minutes": t["minutes"],
                            "note": t["note"], "from": t.get("from_ref")}
                           for t in detail.time_entries]
    out["minutes_logged"] = sum(t["minutes"] for t in detail.time_entries)
    out["attachments"] = [{"id": a["id"], "at": a["at"], "filename": a["filename"],
                           "size": a["size"], "sha256": a["sha256"], "from": a.get("from_ref")}
                          for a in detail.attachments]
    return out


def _link_json(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A linked ticket in a detail document: enough to name it and see where it stands."""
    if row is None:
        return None
    return {"ref": display_ref(row["number"], row["provisional"]), "number": row["number"],
            "id": row["id"], "status": row["status"], "priority": row["priority"],
            "summary": row["summary"]}


def _event_json(event: Row) -> dict[str, Any]:
    detail = json.loads(event["detail"]) if event["detail"] else None
    out = {"at": event["at"], "actor": event["actor"], "kind": event["kind"],
           "summary": event["summary"], "detail": detail}
    if event.get("from_ref"):
        out["from"] = event["from_ref"]  # a merged duplicate's event
    if event.get("note_body") is not None:
        out["note"] = event["note_body"]
        out["internal"] = bool(event["note_internal"])
    return out


# --- text ------------------------------------------------------------------------------


def _when(iso: str | None) -> str:
    """``2026-11-24T09:00:00Z`` → ``2026-11-24 09:00Z``: minutes are enough on screen."""
    return "—" if not iso else f"{iso[:10]} {iso[11:16]}Z"


def detail_text(detail: TicketDetail, now: datetime) -> str:
    """``deskcli show``: plain text that reads well without colour and greps well."""
    data = ticket_json(detail.ticket, now)
    lines = [f"{data['ref']}  {data['summary']}", ""]

    def pair(label: str, value: Any) -> None:
        if value not in (None, ""):
            lines.append(f"  {label:<15} {value}")

    pair("Status", data["status"])
    pair("Priority", data["priority"])
    pair("Type", data["type"])
    pair("Flagged", data["flagged"])
    pair("Tags", " ".join(data["tags"]))
    if detail.parent is not None:
        pair("Parent", _line(detail.parent))
    if detail.merged_target is not None:
        pair("Merged into", _line(detail.merged_target))
    sla = data["sla_state"]
    if data["time_left"] is not None:
        sla += f", {data['time_left']} left (due {_when(data['next_due'])})"
    pair("SLA", sla)
    for label, clock, verb in (("Response", data["clocks"]["response"], "answered"),
                               ("Resolution", data["clocks"]["resolve"], "resolved")):
        stopped = f", {verb} {_when(clock['stopped_at'])}" if clock["stopped_at"] else ""
        pair(label, f"{clock['words']} (due {_when(clock['due'])}{stopped})")
    caller = data["caller"]
    contact = ", ".join(v for v in (data["caller_email"], data["caller_phone"]) if v)
    if caller and contact:
        caller = f"{caller} ({contact})"
    pair("Caller", caller)
    also = sorted({str(dup["caller_email"]) for dup in detail.merged if dup["caller_email"]}
                  - {str(data["caller_email"] or "")})
    pair("Also from", ", ".join(also))
    pair("Verified", data["verification"])
    client = data["client"]
    if client and data["contract_tier"]:
        client = f"{client} ({data['contract_tier']} tier)"
    pair("Client", client)
    for key in ("assignee", "queue", "category", "channel", "asset", "users_affected"):
        pair(key.replace("_", " ").capitalize(), data[key])
    pair("Opened", f"{_when(data['created_at'])} by {data['created_by']}")
    if data["resolved_at"]:
        pair("Resolved", _when(data["resolved_at"]))
    for label, key in (("In the caller's words", "verbatim"), ("Error text", "error_text"),
                       ("Root cause", "root_cause"), ("Resolution", "resolution")):
        if data[key]:
            lines += ["", f"{label}:"] + [f"  {line}" for line in str(data[key]).splitlines()]

    progress = detail.progress
    skipped = (f", {progress.skipped_by_hand} skipped with a reason"
               if progress.skipped_by_hand else "")
    lines += ["", f"Checklist: {progress.checklist.title} — {progress.done} of "
              f"{progress.applicable} steps done{skipped}"]
    phase = None
    collected = {step.key: pairs for step, pairs in detail.collected()}
    for item in progress.items:
        if item.step.phase != phase:
            phase = item.step.phase
            found = next((p for p in progress.checklist.phases if p.key == phase), None)
            lines.append(f"  {found.title if found else phase}")
        if item.by_hand:
            reason = f"  (skipped: {item.reason})"
        else:
            reason = f"  ({item.reason})" if item.reason else ""
        lines.append(f"    {item.state.marker} {item.step.title}{reason}")
        for label, text in collected.get(item.step.key, ()):
            first, *more = text.splitlines() or [""]
            lines.append(f"        · {label}: {first}")
            lines += [f"            {line}" for line in more]
        note = detail.notes.get(item.step.key)
        if note and item.state not in (StepState.DONE, StepState.SKIPPED):
            lines.append(f"        ! {note}")

    if detail.children:
        lines += ["", f"Children ({len(detail.children)}):"]
        lines += [f"  {_line(child)}" for child in detail.children]
    if detail.merged:
        lines += ["", f"Merged duplicates ({len(detail.merged)}):"]
        lines += [f"  {_line(dup)}" for dup in detail.merged]

    lines += ["", "Timeline:"]
    for event in detail.timeline:
        origin = f"[{event['from_ref']}] " if event.get("from_ref") else ""
        lines.append(f"  {_when(event['at'])}  {event['actor']:<10} {origin}{event['summary']}")
        if event.get("note_body"):
            lines += [f"      {line}" for line in str(event["note_body"]).splitlines()]
    minutes = sum(t["minutes"] for t in detail.time_entries)
    if minutes:
        count = len(detail.time_entries)
        lines += ["", f"Time logged: {minutes} min in {count} entr{'y' if count == 1 else 'ies'}"]
    if detail.attachments:
        lines += ["", "Attachments:"]
        lines += [f"  {a['filename']} ({a['size']} bytes)"
                  + (f" from {a['from_ref']}" if a.get("from_ref") else "")
                  for a in detail.attachments]
    return "\n".join(lines)


def _line(row: Mapping[str, Any]) -> str:
    """``#4522  open  P2  ERP down for sales``: a linked ticket on one line."""
    return (f"{display_ref(row['number'], row['provisional'])}  {row['status']}  "
            f"{row['priority']}  {row['summary']}")

