"""Rules on the desk calendar and the roster, with an injected clock across business-hours
edges, a DST change and a week-end (Europe/Berlin: clocks go back on Sun 25 Oct 2026)."""

from __future__ import annotations

from datetime import UTC, datetime

from deskcli.domain.intake import NewTicket
from deskcli.services.desk import Desk
from helpers import FakeClock

from .conftest import NOTIFY, DeskMaker

CALENDAR = """
[calendar]
timezone = "Europe/Berlin"
hours = { mon-fri = "09:00-17:00" }

[shifts.weekdays]
hours = { mon-fri = "09:00-17:00" }

[technicians.kai]
groups = ["tier2"]
shift = "weekdays"

[technicians.sam]
groups = ["tier2"]
shift = "weekdays"

[technicians.nia]
groups = ["tier2"]
shift = { hours = { sat-sun = "09:00-17:00" } }
"""

AFTER_HOURS = """
[[rule]]
name = "after hours"
on = "create"
if = { business_hours = false }
then = { queue = "after-hours" }

[[rule]]
name = "untouched during opening hours"
on = "schedule"
if = { status = ["new"], idle = "2h", business_hours = true }
then = { priority = "P2" }
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def queue_at(desk: Desk, clock: FakeClock, moment: str) -> str | None:
    clock.current = at(moment)
    row = desk.tickets.create(NewTicket(summary=f"at {moment}"))
    return desk.tickets.find(row["id"])["queue"]


def test_business_hours_edges_dst_and_the_week_end(rules_desk: DeskMaker,
                                                    clock: FakeClock) -> None:
    desk = rules_desk(AFTER_HOURS, config=NOTIFY + CALENDAR)
    cases = {
        "2026-10-23T08:59:59+02:00": "after-hours",  # Friday, a second before opening
        "2026-10-23T09:00:00+02:00": None,
        "2026-10-23T16:59:59+02:00": None,
        "2026-10-23T17:00:00+02:00": "after-hours",
        "2026-10-24T12:00:00+02:00": "after-hours",  # Saturday
        "2026-10-25T12:00:00+01:00": "after-hours",  # Sunday, the clocks went back
        "2026-10-26T08:30:00+01:00": "after-hours",  # Monday 07:30 UTC: still closed
        "2026-10-26T09:00:00+01:00": None,           # 08:00 UTC, an hour "earlier" in UTC
    }
    assert {moment: queue_at(desk, clock, moment) for moment in cases} == cases


def test_a_wait_that_ends_at_the_week_end_fires_on_monday(rules_desk: DeskMaker,
                                                          clock: FakeClock) -> None:
    desk = rules_desk(AFTER_HOURS, config=NOTIFY + CALENDAR)
    assert desk.rules is not None
    clock.current = at("2026-10-23T16:00:00+02:00")
    row = desk.tickets.create(NewTicket(summary="printer"))
    for moment in ("2026-10-23T18:00:00+02:00", "2026-10-24T10:00:00+02:00",
                   "2026-10-25T10:00:00+01:00", "2026-10-26T08:59:00+01:00"):
        clock.current = at(moment)
        assert desk.rules.run_schedule() == [], moment
    clock.current = at("2026-10-26T09:00:00+01:00")
    assert [f.ticket for f in desk.rules.run_schedule()] == [f"#{row['number']}"]
    assert desk.tickets.find(row["id"])["priority"] == "P2"


def test_round_robin_and_least_loaded_skip_whoever_is_off_shift(
        rules_desk: DeskMaker, clock: FakeClock) -> None:
    desk = rules_desk("""
[[rule]]
name = "network to tier2"
on = "create"
if = { text_has = "network" }
then = { assign = "round-robin:tier2" }

[[rule]]
name = "printers to the least loaded"
on = "create"
if = { text_has = "printer" }
then = { assign = "least-loaded:tier2" }
""", config=NOTIFY + CALENDAR)
    clock.current = at("2026-10-23T10:00:00+02:00")  # a Friday: nia (week-ends) is off
    handles = [desk.tickets.find(desk.tickets.create(NewTicket(summary=f"network {n}"))["id"])
               ["assignee"] for n in range(3)]
    assert handles == ["kai", "sam", "kai"]
    printer = desk.tickets.create(NewTicket(summary="printer jams"))
    assert desk.tickets.find(printer["id"])["assignee"] == "sam"  # 1 open against kai's 2
    clock.current = at("2026-10-24T10:00:00+02:00")  # Saturday: only nia works
    weekend = desk.tickets.create(NewTicket(summary="network down"))
    assert desk.tickets.find(weekend["id"])["assignee"] == "nia"
    clock.current = at("2026-10-24T20:00:00+02:00")  # nobody on shift
    late = desk.tickets.create(NewTicket(summary="network again"))
    assert desk.tickets.find(late["id"])["assignee"] is None
    [line] = [e["summary"] for e in desk.tickets.detail(late["id"]).timeline
              if e["kind"] == "rule_fired"]
    assert "nobody in tier2 is on shift" in line
