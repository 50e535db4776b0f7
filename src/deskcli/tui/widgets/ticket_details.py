"""The ticket's recorded facts as one readable page (the Details tab)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from deskcli.domain.enums import Channel, TicketType
from deskcli.domain.timefmt import from_iso
from deskcli.tui.session import TicketView

FIELDS = [
    ("Caller's words", "verbatim"),
    ("Error text", "error_text"),
    ("Event IDs", "event_ids"),
    ("Doing", "doing"),
    ("Every time?", "reproducible"),
    ("People hit", "users_affected"),
    ("Asset", "asset"),
    ("Category", "category"),
    ("Queue", "queue"),
    ("Root cause", "root_cause"),
    ("Resolution", "resolution"),
    ("Resolved as", "resolution_category"),
]


def render_details(view: TicketView) -> RenderableType:
    t = view.ticket
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
    table.add_column("field", no_wrap=True, style="bold")
    table.add_column("value", ratio=1)

    def row(label: str, value: object) -> None:
        shown = Text(str(value)) if value not in (None, "") else Text("—", style="dim")
        table.add_row(label, shown)

    row("Type", TicketType(t["type"]).label)
    row("Channel", Channel(t["channel"]).label)
    row("Caller", " · ".join(str(v) for v in (t["caller_name"], t["caller_email"],
                                               t["caller_phone"]) if v))
    row("Client", f"{t['client_name']} ({t['contract_tier'] or 'standard'} contract)"
        if t["client_name"] else None)
    for label, key in FIELDS:
        row(label, t.get(key))
    for number, (step, pairs) in enumerate(view.detail.collected()):
        # What each step recorded beyond the fields above: notes, reasons, the KB query.
        text = Text(step.title, style="bold")
        for label, value in pairs:
            text.append(f"\n  {label}: ", style="dim")
            text.append(value)
        table.add_row("" if number else "Steps recorded", text)
    entries = view.detail.time_entries
    row("Time", f"{view.minutes_logged} min in {len(entries)} "
        f"entr{'y' if len(entries) == 1 else 'ies'}")
    for entry in entries:
        when = from_iso(entry["at"]).strftime("%d %b %H:%M")
        table.add_row("", Text(f"{when} {entry['author']} {entry['minutes']} min "
                               f"{entry['note'] or ''}".rstrip(), style="dim"))
    row("Files", len(view.detail.attachments) or None)
    for item in view.detail.attachments:
        table.add_row("", Text(f"{item['filename']} ({item['size']:,} bytes)", style="dim"))
    return Group(table)
