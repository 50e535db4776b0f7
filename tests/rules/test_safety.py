"""Order and safety: refused actions refuse nothing else, no loops, hand assignment wins,
a joined store runs nothing, and a run killed mid-way never fires anything twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from deskcli.domain.errors import InvalidInput
from deskcli.domain.intake import NewTicket
from deskcli.domain.rules import RulesFileError
from deskcli.services.desk import Desk
from deskcli.storage.outbound import OutboundQueue
from helpers import FakeClock, make_desk, settle_steps

from .conftest import NOTIFY, DeskMaker


def fired(desk: Desk, ref: str) -> list[str]:
    return [str(e["summary"]) for e in desk.tickets.detail(ref).timeline
            if e["kind"] == "rule_fired"]


def test_a_refused_action_is_recorded_and_refuses_nothing_else(
        rules_desk: DeskMaker) -> None:
    desk = rules_desk("""
[[rule]]
name = "close printers"
on = "create"
if = { text_has = "printer" }
then = { category = "printing", close = true, note = "Printers are closed at once." }
""")
    row = desk.tickets.create(NewTicket(summary="printer jams"))
    ref = f"#{row['number']}"
    ticket = desk.tickets.find(ref)
    # The ticket was created, the category set and the note added; the close was refused
    # by the same gate a technician meets, and the timeline says so.
    assert (ticket["status"], ticket["category"]) == ("new", "printing")
    [line] = fired(desk, ref)
    assert line.startswith("rule 'close printers' set category printing; added an internal "
                           "note; could not close: cannot close")
    assert "not resolved" in line or "resolve" in line


def test_two_rules_that_undo_each_other_do_not_loop(rules_desk: DeskMaker) -> None:
    desk = rules_desk("""
[[rule]]
name = "down"
on = "update"
if = { priority = "P3" }
then = { priority = "P4" }

[[rule]]
name = "up"
on = "update"
if = { priority = "P4" }
then = { priority = "P3" }
""")
    row = desk.tickets.create(NewTicket(summary="ping pong"))
    ref = f"#{row['number']}"
    desk.tickets.update(ref, {"category": "network"})
    assert fired(desk, ref) == ["rule 'down' set priority P4", "rule 'up' set priority P3"]
    desk.tickets.update(ref, {"category": "hardware"})
    desk.tickets.update(ref, {"asset": "LAP-1"})
    # Each fired once in the first chain; their episodes go on (a rule's own change, or
    # the other's, does not start a new one while the ticket stays as they left it).
    assert len(fired(desk, ref)) <= 4
    assert desk.tickets.find(ref)["priority"] in ("P3", "P4")


def test_an_update_rule_fires_once_per_episode(rules_desk: DeskMaker) -> None:
    desk = rules_desk("""
[[rule]]
name = "P1 to the incident room"
on = "update"
if = { priority = "P1" }
then = { queue = "major-incident" }
""")
    row = desk.tickets.create(NewTicket(summary="all down"))
    ref = f"#{row['number']}"
    desk.tickets.update(ref, {"priority": "P1"})
    desk.tickets.update(ref, {"queue": "service-desk"})  # a technician moves it back
    assert desk.tickets.find(ref)["queue"] == "service-desk"  # the rule does not fight
    desk.tickets.update(ref, {"priority": "P2"})
    desk.tickets.update(ref, {"priority": "P1"})  # a new episode
    assert desk.tickets.find(ref)["queue"] == "major-incident"
    assert len(fired(desk, ref)) == 2


def test_taking_a_ticket_by_hand_wins(rules_desk: DeskMaker) -> None:
    desk = rules_desk(config=NOTIFY + "\n[technicians.sam]\ngroups = [\"network\"]\n",
                      rules="""
[[rule]]
name = "network to sam"
on = "update"
if = { category = "network" }
then = { assign = "sam" }
""")
    free = desk.tickets.create(NewTicket(summary="switch down"))
    taken = desk.tickets.create(NewTicket(summary="wifi slow", assignee="dana"))
    for row in (free, taken):
        desk.tickets.update(f"#{row['number']}", {"category": "network"})
    assert desk.tickets.find(f"#{free['number']}")["assignee"] == "sam"
    assert desk.tickets.find(f"#{taken['number']}")["assignee"] == "dana"
    assert fired(desk, f"#{taken['number']}") == [
        "rule 'network to sam' left it with dana (taken by hand)"]


def test_an_unknown_group_is_named_with_its_line(rules_desk: DeskMaker) -> None:
    text = ('[[rule]]\nname = "a"\non = "create"\nif = { text_has = "x" }\n'
            'then = { assign = "round-robin:tier9" }\n')
    with pytest.raises(RulesFileError, match=r"rules.toml:5: rule 'a': action 'assign': "):
        rules_desk(text)


def test_config_problems_name_the_line(rules_desk: DeskMaker) -> None:
    text = """
[[rule]]
name = "nudge"
on = "schedule"
if = { waiting = "3d" }
then = { reply = "no-such-snippet", notify = "mail" }
"""
    with pytest.raises(RulesFileError) as caught:
        rules_desk(text)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("rules.toml:6: rule 'nudge': no snippet 'no-such-snippet'; "
                             "snippets: ack, fixed, remote, still-there, waiting, working "
                             "(add it to snippets.toml in the config folder)")
    assert "rules.toml:6: rule 'nudge': channel 'mail' is a smtp channel" in lines[1]


def test_a_reply_needs_an_email_channel(rules_desk: DeskMaker) -> None:
    with pytest.raises(InvalidInput, match="no email channel"):
        rules_desk('[[rule]]\nname = "n"\non = "schedule"\nif = { idle = "1d" }\n'
                   'then = { reply = "ack" }\n', config="")


def test_a_joined_store_leaves_rules_to_the_server(isolated_home: Path,
                                                   clock: FakeClock) -> None:
    desk = make_desk(isolated_home, clock)
    with desk.store.transaction():
        desk.store.set_meta("server_url", "http://127.0.0.1:9")
    desk.close()
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "rules.toml").write_text('[[rule]]\nname = "r"\non = "create"\n'
                                       'then = { queue = "q" }\n')
    desk = make_desk(isolated_home, clock)
    try:
        assert desk.rules is None
        row = desk.tickets.create(NewTicket(summary="anything"))
        assert desk.tickets.find(row["id"])["queue"] is None
    finally:
        desk.close()


CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    from helpers import paths_under
    from deskcli.services.desk import open_desk
    from deskcli.storage import rules as storage_rules

    calls = {"n": 0}
    original = storage_rules.RuleLedger.record

    def record(self, row):
        calls["n"] += 1
        if calls["n"] == int(sys.argv[3]):
            # Mid-firing: the actions are written, the transaction is not committed.
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, row)

    storage_rules.RuleLedger.record = record
    desk = open_desk(paths_under(Path(sys.argv[1])))
    desk.rules.run_schedule()
""")


@pytest.mark.parametrize("kill_at", [1, 3])
def test_a_run_killed_mid_way_never_fires_twice(isolated_home: Path, clock: FakeClock,
                                                kill_at: int) -> None:
    """SIGKILL in the middle of a pass (inside a firing's transaction), then a rerun: every
    ticket is nudged exactly once and closed exactly once."""
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(NOTIFY)
    (config / "rules.toml").write_text("""
[[rule]]
name = "nudge"
on = "schedule"
if = { status = "resolved", waiting = "3d" }
then = { reply = "still-there" }

[[rule]]
name = "close"
on = "schedule"
if = { status = "resolved", waiting = "3d" }
then = { close = true }
""")
    desk = make_desk(isolated_home, clock)
    refs = []
    for n in range(4):
        row = desk.tickets.create(NewTicket(summary=f"mail {n}", caller="Ann",
                                            email=f"ann{n}@example.org"))
        ref = f"#{row['number']}"
        desk.tickets.log_time(ref, "5m")
        desk.tickets.resolve(ref, root_cause="printer driver",
                             resolution="Reinstalled the HP Universal Print Driver 7.0 "
                                        "from Control Panel > Devices")
        settle_steps(desk, ref)
        refs.append(ref)
    desk.close()
    tests_dir = str(Path(__file__).resolve().parent.parent)
    child = subprocess.run([sys.executable, "-c", CHILD, str(isolated_home), tests_dir,
                            str(kill_at)],
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    clock.advance(days=4)
    desk = make_desk(isolated_home, clock)
    try:
        assert desk.rules is not None
        desk.rules.run_schedule()
        desk.rules.run_schedule()
        for ref in refs:
            ticket = desk.tickets.find(ref)
            assert ticket["status"] == "closed"
            assert sorted(fired(desk, ref)) == ["rule 'close' closed the ticket",
                                                "rule 'nudge' sent reply 'still-there'"]
            updates = [m for m in OutboundQueue(desk.store).for_ticket(ticket["id"])
                       if m["purpose"] == "update"]
            assert len(updates) == 1
            rows = desk.store.db.execute("SELECT rule, episode FROM rule_firings "
                                         "WHERE ticket_id = ?", (ticket["id"],)).fetchall()
            assert sorted((r["rule"], r["episode"]) for r in rows) == [("close", 1),
                                                                       ("nudge", 1)]
    finally:
        desk.close()


def test_the_sla_state_in_sql_agrees_with_the_domain(rules_desk: DeskMaker,
                                                      clock: FakeClock) -> None:
    """Minute by minute through a P1's and a P2's clocks (answered, paused, untouched):
    the rules fire exactly where ``domain.sla.classify`` says at-risk or breached."""
    from deskcli.domain.enums import Priority
    from deskcli.domain.sla import classify
    from deskcli.domain.timefmt import to_iso

    desk = rules_desk("""
[[rule]]
name = "at risk"
on = "schedule"
if = { status = ["new", "open", "pending-caller"], sla = "at-risk" }
then = { note = "at risk" }

[[rule]]
name = "breached"
on = "schedule"
if = { sla = ["breached"] }
then = { note = "breached" }
""", config="")
    assert desk.rules is not None
    rows = [desk.tickets.create(NewTicket(summary=f"t{n}", priority=p))
            for n, p in enumerate((Priority.P1, Priority.P2, Priority.P1, Priority.P2))]
    desk.tickets.add_note(f"#{rows[1]['number']}", "On it", internal=False)  # answered
    desk.tickets.set_status(f"#{rows[2]['number']}", "open")
    desk.tickets.set_status(f"#{rows[2]['number']}", "pending-caller")  # paused
    start = clock.now()
    for minute in range(0, 10 * 60, 7):
        now = start + timedelta(minutes=minute)
        expected = set()
        for row in rows:
            t = desk.tickets.find(row["id"])
            state = classify(now=to_iso(now), is_open=True,
                             paused=t["sla_paused_since"] is not None,
                             response_due=t["response_due"],
                             response_risk_at=t["response_risk_at"],
                             first_response_at=t["first_response_at"],
                             resolve_due=t["resolve_due"], resolve_risk_at=t["resolve_risk_at"],
                             resolved_at=None)
            if state.value == "at-risk":
                expected.add(("at risk", f"#{t['number']}"))
            if state.value == "breached":
                expected.add(("breached", f"#{t['number']}"))
        found = {(f.rule, f.ticket) for f in desk.rules.test(now)}
        assert found == expected, minute


def test_a_long_chain_of_rules_stops_and_says_so(rules_desk: DeskMaker) -> None:
    """Ten update rules, each set off by the one before and written before it in the file
    (so each round fires one): the chain stops after eight rounds and says why."""
    from deskcli.services.rules import MAX_ROUNDS

    chain = "\n".join(
        f'[[rule]]\nname = "step {n}"\non = "update"\nif = {{ category = "c{n}" }}\n'
        f'then = {{ category = "c{n + 1}" }}\n' for n in reversed(range(10)))
    desk = rules_desk(chain)
    row = desk.tickets.create(NewTicket(summary="chain"))
    desk.tickets.update(f"#{row['number']}", {"category": "c0"})
    timeline = desk.tickets.detail(row["id"]).timeline
    assert len([e for e in timeline if e["kind"] == "rule_fired"]) == MAX_ROUNDS
    stopped = [e for e in timeline if e["kind"] == "rules_stopped"]
    assert len(stopped) == 1 and "stopped after 8 rounds" in stopped[0]["summary"]
    assert desk.tickets.find(row["id"])["category"] == f"c{MAX_ROUNDS}"


CHILD_NEW = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    from helpers import paths_under
    from deskcli.domain.intake import NewTicket
    from deskcli.services.desk import open_desk
    from deskcli.storage import rules as storage_rules

    def record(self, row):
        os.kill(os.getpid(), signal.SIGKILL)  # the rule acted; nothing is committed yet

    storage_rules.RuleLedger.record = record
    desk = open_desk(paths_under(Path(sys.argv[1])))
    desk.tickets.create(NewTicket(summary="refund please"))
""")


def test_a_crash_inside_an_event_rule_leaves_neither_the_ticket_nor_the_rule(
        isolated_home: Path, clock: FakeClock) -> None:
    """Event rules run in the change's own transaction: killed while a rule acts on a new
    ticket, the store has neither the ticket nor the rule's changes."""
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "rules.toml").write_text('[[rule]]\nname = "refund"\non = "create"\n'
                                       'if = { text_has = "refund" }\n'
                                       'then = { queue = "billing" }\n')
    make_desk(isolated_home, clock).close()
    tests_dir = str(Path(__file__).resolve().parent.parent)
    child = subprocess.run([sys.executable, "-c", CHILD_NEW, str(isolated_home), tests_dir],
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    desk = make_desk(isolated_home, clock)
    try:
        db = desk.store.db
        assert db.execute("SELECT count(*) AS n FROM tickets").fetchone()["n"] == 0
        assert db.execute("SELECT count(*) AS n FROM events").fetchone()["n"] == 0
        assert db.execute("SELECT count(*) AS n FROM outbox").fetchone()["n"] == 0
    finally:
        desk.close()
