"""The top of the ticket screen: who, what, how urgent, and both SLA clocks.

Three lines that never wrap (an 80-column terminal must keep room for the work; there the
caller's line splits in two so channel, owner and queue stay in view), plus one more when
the caller has heard nothing for too long. Each clock says met/missed once it
stopped, else the time left; at-risk and breached carry the queue's markers (``!`` and
``!!``), so they read without colour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from deskcli.domain.enums import Channel, Priority, Status, Verification
from deskcli.domain.inert import visible
from deskcli.domain.priority import DEFINITIONS
from deskcli.domain.sla import ClockReading, ClockState, clocks_of, format_span
from deskcli.domain.timefmt import from_iso
from deskcli.tui.screens.context import desk_app
from deskcli.tui.session import TicketView

SEP = " · "


def when(moment: datetime, now: datetime) -> str:
    """``14:05`` today, ``Wed 14:05`` within the week, else ``03 Dec 14:05`` (UTC)."""
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    if abs((moment - now).days) < 6:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%d %b %H:%M")


def clock_text(label: str, reading: ClockReading, now: datetime) -> Text:
    """One SLA clock in words, e.g. ``Resolve ! 1h05m left, due 13:00``; the words are the
    domain's (``ClockReading.words``), the same ``deskcli show`` prints."""
    text = Text(f"{label} ", style="bold")
    state = reading.state
    if state is ClockState.MET:
        text.append("ok met", style="green")
        return text
    if state is ClockState.MISSED:
        text.append(f"x {reading.words(now)}", style="red")
        return text
    if state is ClockState.PAUSED:
        text.append(f"|| {reading.words(now)}", style="dim")
        return text
    if state is ClockState.OVERDUE:
        text.append(f"!! {reading.words(now)}", style="bold red")
    elif state is ClockState.AT_RISK:
        text.append(f"! {reading.words(now)}", style="bold yellow")
    else:
        text.append(reading.words(now))
    text.append(f", due {when(reading.due, now)}", style="dim")
    return text


def one_line(text: Text) -> Text:
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class TicketHeader(Static):
    DEFAULT_CSS = """
    TicketHeader {
        height: auto;
        padding: 0 1;
        background: $boost;
    }
    """

    plain = ""
    #: Other technicians who have this ticket open right now (team server presence).
    also_open: tuple[str, ...] = ()

    _shown: tuple[TicketView, datetime, timedelta] | None = None

    #: The width the header was last drawn for.
    _width = 0

    def on_resize(self) -> None:
        # Only a new width changes the lines (one more when channel and owner wrap);
        # a header just grown or shrunk in height by its own lines is drawn already.
        if self._shown is not None and self._fit_width() != self._width:
            self.show_view(*self._shown)

    def _fit_width(self) -> int:
        return self.content_region.width or self.size.width

    def show(self, view: TicketView) -> None:
        """Draw ``view`` with the desk's clock and communication checkpoint."""
        desk = desk_app(self).desk
        self.show_view(view, desk.now(), desk.config.checkpoint)

    def redraw(self) -> None:
        """The clocks moved on: draw the ticket shown again, as of now."""
        if self._shown is not None:
            self.show(self._shown[0])

    def clear(self, ref: str, *, redraw: bool = True) -> None:
        """A new ticket is being read: only its reference shows, nobody else has it.
        ``redraw`` False: the header is off screen until the ticket is drawn."""
        self._shown = None
        self.also_open = ()
        if redraw:
            self.update(Text(f"{ref} …"))

    def show_others(self, others: tuple[str, ...]) -> bool:
        """Who else has the ticket open (team server presence); True when that changed."""
        if others == self.also_open:
            return False
        self.also_open = others
        if self._shown is not None:
            self.show(self._shown[0])
        return True

    def show_view(self, view: TicketView, now: datetime, checkpoint: timedelta) -> None:
        self._shown = (view, now, checkpoint)
        t = view.ticket
        priority = Priority(t["priority"])
        status = Status(t["status"])
        line1 = Text()
        line1.append(view.detail.ref, style="bold")
        line1.append(f" {priority.value} {DEFINITIONS[priority].name}",
                     style="bold red" if priority is Priority.P1 else "bold")
        line1.append(f"{SEP}{status.label}{SEP}")
        line1.append(visible(t["summary"]))

        line2 = Text(visible(t["caller_name"] or "no caller recorded"))
        if t["caller_vip"]:
            line2.append(" VIP", style="bold")
        verification = t["verification"]
        if verification and Verification(verification).verified:
            line2.append(f" ✓ verified ({verification})", style="green")
        elif t["channel"] != Channel.MONITORING.value:
            line2.append(" ✗ identity not verified", style="bold yellow")
        if t["client_name"]:
            line2.append(f"{SEP}{t['client_name']} ({t['contract_tier'] or 'standard'})")
        routing = Text(f"{Channel(t['channel']).value}{SEP}owner {t['assignee'] or '—'}")
        if t["queue"]:
            routing.append(f"{SEP}queue {t['queue']}")
        width = self._width = self._fit_width()
        split = bool(width) and line2.cell_len + len(SEP) + routing.cell_len > width

        response, resolve = clocks_of(t, now)
        line3 = clock_text("Response", response, now)
        line3.append("   ")
        line3.append_text(clock_text("Resolve", resolve, now))
        if split:
            # Too narrow for one line (80 columns): channel, owner and queue get a line of
            # their own rather than being cut off at the edge.
            lines = [line1, line2, routing, line3]
        else:
            line2.append(SEP)
            line2.append_text(routing)
            lines = [line1, line2, line3]
        if view.silent:
            last = t["last_contact_at"] or t["created_at"]
            quiet = format_span(now - from_iso(last))
            lines.append(Text(f"~ Silent {quiet}: the caller has heard nothing past the "
                              f"{format_span(checkpoint)} checkpoint (u: one-key update)",
                              style="bold yellow"))
        page = view.extra.get("page")
        if page:
            styles = {"failed": "bold white on red", "retrying": "bold white on red",
                      "queued": "bold yellow", "sent": "bold", "acknowledged": "green",
                      "resolved": "dim"}
            hint = {"retrying": ": NOT delivered yet; page by phone meanwhile",
                    "failed": ": NOT delivered, retries used up; page by phone, fix the "
                              "channel, then deskcli notify retry",
                    "queued": ": waiting to go out", "sent": " (o when on-call has it)",
                    "acknowledged": "", "resolved": ""}
            lines.append(Text(f"☎ On-call page {page}{hint.get(page, '')}",
                              style=styles.get(page, "bold")))
        if t.get("flagged"):
            lines.append(Text(f"⚑ Flagged: {t['flagged']} (then deskcli set "
                              f"{view.detail.ref} --settled)", style="bold magenta"))
        if self.also_open:
            lines.append(Text(f"◉ Also open now: {', '.join(self.also_open)}; agree who "
                              "changes what", style="bold cyan"))
        #: The header as plain text (tests and screen readers of the snapshot).
        self.plain = "\n".join(line.plain for line in lines)
        self.update(Group(*(one_line(line) for line in lines)))
