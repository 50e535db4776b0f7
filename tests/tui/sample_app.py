"""The app on deterministic sample data, shared by the pilot and the snapshot tests.

A fixed clock (Tuesday 09:00 UTC), sequential ids, a seeded history and a handful of
tickets opened through the real service at known minutes before "now", so the queue
shows every SLA state: breached, at risk, fine and paused. Live timers are off
(``tick=None``), so two runs paint the same picture.
"""

from __future__ import annotations

from pathlib import Path

from deskcli.domain.intake import NewTicket
from deskcli.services import demo
from deskcli.services.desk import Desk
from deskcli.tui.app import DeskApp, build_app
from helpers import FakeClock, SeqIds, make_desk

#: (minutes before now, record) for the tickets opened through the service.
FRESH: list[tuple[int, dict[str, str]]] = [
    (200, {"summary": "Whole office cannot reach the file server", "priority": "P1",
           "caller": "Ana Chen", "client": "Northwind Dental", "verified": "callback",
           "error": "The network path \\\\fs01\\shared was not found"}),
    (50, {"summary": "VPN drops every few minutes for the sales team", "priority": "P2",
          "caller": "Ben Brooks", "client": "Harbor Logistics", "verified": "callback",
          "error": "GlobalProtect: gateway unreachable (error 1809)"}),
    (40, {"summary": "Printer on the 2nd floor shows offline", "priority": "P3",
          "caller": "Chloe Diallo", "client": "Cedar & Pine Law", "assignee": "dana"}),
    (25, {"summary": "CFO asks for an MFA reset by phone", "priority": "P2",
          "caller": "Dev Evans", "client": "Meridian Clinic", "assignee": "dana",
          "category": "accounts"}),
    (10, {"summary": "Outlook asks for the password again and again", "priority": "P3",
          "caller": "Emeka Fischer", "client": "Atlas Engineering", "assignee": "dana",
          "verified": "second-channel"}),
    (5, {"summary": "Install Adobe Acrobat Pro for the new paralegal", "priority": "P4",
         "caller": "Farah Garcia", "client": "Cedar & Pine Law", "type": "request"}),
]


def sample_desk(root: Path, clock: FakeClock | None = None, *, empty: bool = False) -> Desk:
    clock = clock or FakeClock()
    desk = make_desk(root, clock)
    if empty:
        return desk
    demo.seed(desk.store, count=160, now=clock.now(), policy=desk.config.sla,
              new_id=SeqIds(), rng_seed=7, open_share=0.05)
    start = clock.current
    for minutes, record in FRESH:
        clock.current = start
        clock.advance(minutes=-minutes)
        desk.tickets.create(NewTicket.from_mapping(record))
    clock.current = start
    return desk


def sample_app(root: Path, clock: FakeClock | None = None, *, empty: bool = False,
               offer_samples: bool = False) -> DeskApp:
    desk = sample_desk(root, clock, empty=empty)
    return build_app(desk, new_id=SeqIds(), tick=None, offer_samples=offer_samples,
                     sample_count=40)
