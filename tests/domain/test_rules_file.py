"""The rules file: the issue's format, every problem named with file and line, and the pure
evaluation (whole-word text, episodes, waits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskcli.domain import rules as r
from deskcli.domain.errors import InvalidInput

ISSUE_FILE = """\
[[rule]]
name = "refund to billing"
on = "create"                        # create | update | reply | schedule
if = { text_has = ["refund", "invoice"] }
then = { queue = "billing", note = "Routed to billing: the caller mentions a refund." }

[[rule]]
name = "untouched P2 escalates"
on = "schedule"
if = { priority = ["P1", "P2"], status = ["new", "open"], idle = "2h" }
then = { escalate = "tier2", notify = "incident-room" }

[[rule]]
name = "silent caller: nudge, then close"
on = "schedule"
if = { status = ["pending-caller"], waiting = "3d" }
then = { reply = "still-there", status = "open" }
"""

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def view(**kw: object) -> r.TicketView:
    base: dict[str, object] = {
        "id": "t1", "ref": "#1", "status": "open", "priority": "P3", "type": "incident",
        "channel": "phone", "created_at": NOW - timedelta(hours=5),
        "updated_at": NOW - timedelta(hours=3), "status_since": NOW - timedelta(hours=5)}
    base.update(kw)
    return r.TicketView(**base)  # type: ignore[arg-type]


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(r.RulesFileError) as caught:
        r.parse_rules(text, "rules.toml")
    return caught.value.problems


class TestTheIssuesFile:
    def test_parses_with_every_field(self) -> None:
        rules = r.parse_rules(ISSUE_FILE, "rules.toml").rules
        assert [x.name for x in rules] == ["refund to billing", "untouched P2 escalates",
                                           "silent caller: nudge, then close"]
        assert [x.line for x in rules] == [1, 7, 13]
        assert rules[0].when.text_has == ("refund", "invoice")
        assert rules[0].then.queue == "billing"
        assert rules[1].when.idle == timedelta(hours=2)
        assert rules[1].when.priority == {"P1", "P2"}
        assert rules[1].then.planned() == {"queue": "tier2", "status": "escalated",
                                           "notify": "incident-room"}
        assert rules[2].when.waiting == timedelta(days=3)
        assert rules[2].then.planned() == {"status": "open", "reply": "still-there"}

    def test_tables_may_be_written_out(self) -> None:
        text = ('[[rule]]\nname = "a"\non = "update"\n[rule.if]\npriority = "1"\n'
                '[rule.then]\nqueue = "q"\n')
        rule = r.parse_rules(text, "f").rules[0]
        assert rule.when.priority == {"P1"} and rule.then.queue == "q"

    def test_values_are_written_as_the_cli_writes_them(self) -> None:
        text = ('[[rule]]\nname = "a"\non = "update"\nif = { status = "pending_caller", '
                'channel = "walkup", type = "sr" }\nthen = { priority = "2" }\n')
        rule = r.parse_rules(text, "f").rules[0]
        assert rule.when.status == {"pending-caller"} and rule.when.channel == {"walk-up"}
        assert rule.when.type == {"request"} and rule.then.priority == "P2"


class TestBadFiles:
    """Each problem names the file and the line, and all of them are reported at once."""

    def test_invalid_toml_names_the_line(self) -> None:
        found = problems('[[rule]]\nname = "a"\non = \n')
        assert found[0][0] == 3 and "not valid TOML" in found[0][1]
        assert str(r.RulesFileError("rules.toml", found)).startswith("rules.toml:3: ")

    @pytest.mark.parametrize(("body", "line", "words"), [
        ('on = "sometimes"\nthen = { queue = "q" }', 3, "not an event"),
        ('on = "create"\nthen = { queue = "q" }\ncolour = 1', 5, "unknown key 'colour'"),
        ('on = "create"\nif = { colour = "red" }\nthen = { queue = "q" }', 4,
         "unknown condition 'colour'"),
        ('on = "create"\nthen = { paint = "red" }', 4, "unknown action 'paint'"),
        ('on = "create"\nif = { priority = ["P9"] }\nthen = { queue = "q" }', 4,
         "unknown priority 'P9'"),
        ('on = "create"\nif = { status = "done" }\nthen = { queue = "q" }', 4,
         "unknown status 'done'"),
        ('on = "schedule"\nif = { idle = "soon" }\nthen = { queue = "q" }', 4,
         "'soon' is not a duration"),
        ('on = "schedule"\nif = { idle = 2 }\nthen = { queue = "q" }', 4,
         "must be a duration in quotes"),
        ('on = "schedule"\nif = { idle = "0m" }\nthen = { queue = "q" }', 4,
         "longer than zero"),
        ('on = "create"\nif = { sla = "late" }\nthen = { queue = "q" }', 4,
         "unknown SLA state 'late'"),
        ('on = "create"\nif = { business_hours = "yes" }\nthen = { queue = "q" }', 4,
         "true or false"),
        ('on = "create"\nif = { text_has = [] }\nthen = { queue = "q" }', 4,
         "non-empty list"),
        ('on = "create"\nif = { text_has = ["!!"] }\nthen = { queue = "q" }', 4,
         "at least one letter"),
        ('on = "create"\nif = { tag = "not a tag!" }\nthen = { queue = "q" }', 4,
         "is not a tag"),
        ('on = "create"\nthen = { tag = "a b" }', 4, "is not a tag"),
        ('on = "create"\nthen = { queue = "" }', 4, "non-empty string"),
        ('on = "create"\nthen = { close = "yes" }', 4, "must be true"),
        ('on = "create"\nthen = { status = "escalated" }', 4, "use escalate"),
        ('on = "create"\nthen = { status = "open", escalate = "t2" }', 4,
         "both escalate and set the status"),
        ('on = "create"\nthen = { status = "open", close = true }', 4, "close = true closes"),
        ('on = "create"\nthen = {}', 4, "at least one action"),
        ('on = "create"', 1, "at least one action"),
        ('on = "create"\nif = 3\nthen = { queue = "q" }', 4, "'if' must be a table"),
        ('on = "schedule"\nif = { priority = "P1" }\nthen = { queue = "q" }', 4,
         "needs a time condition"),
        ('on = "create"\nthen = { queue = "a\\nb" }', 4, "one line"),
        ('on = "create"\nenabled = "no"\nthen = { queue = "q" }', 4, "enabled must be"),
    ])
    def test_each_problem(self, body: str, line: int, words: str) -> None:
        found = problems(f'[[rule]]\nname = "a"\n{body}\n')
        assert any(words in text for _, text in found), found
        assert [n for n, text in found if words in text][0] == line

    def test_a_rule_without_a_name_and_two_with_one_name(self) -> None:
        text = ('[[rule]]\non = "create"\nthen = { queue = "q" }\n\n'
                '[[rule]]\nname = "x"\non = "create"\nthen = { queue = "q" }\n\n'
                '[[rule]]\nname = "x"\non = "create"\nthen = { queue = "q" }\n')
        found = problems(text)
        assert (1, "every rule needs a name = \"...\" (it is how the timeline says which "
                   "rule did what)") in found
        assert any(n == 11 and "two rules are named 'x'" in t and "line 6" in t
                   for n, t in found)

    def test_a_name_with_control_characters(self) -> None:
        found = problems('[[rule]]\nname = "a\\u001b[2Jb"\non = "create"\n'
                         'then = { queue = "q" }\n')
        assert found[0][0] == 2 and "control characters" in found[0][1]

    def test_unknown_top_level_table(self) -> None:
        found = problems('[settings]\nx = 1\n\n[[rule]]\nname = "a"\non = "create"\n'
                         'then = { queue = "q" }\n')
        assert found == [(1, "unknown table or key 'settings': a rules file holds only "
                             "[[rule]] tables")]

    def test_every_problem_is_reported_not_only_the_first(self) -> None:
        found = problems('[[rule]]\nname = "a"\non = "x"\nif = { priority = "P9", '
                         'idle = "?" }\nthen = { paint = 1 }\n')
        assert len(found) == 4
        assert [n for n, _ in found] == [3, 4, 4, 5]

    def test_the_error_is_bad_input(self) -> None:
        with pytest.raises(InvalidInput):
            r.parse_rules("[[rule]]\n", "f")


class TestDurations:
    @pytest.mark.parametrize(("text", "span"), [
        ("2h", timedelta(hours=2)), ("90m", timedelta(minutes=90)),
        ("3d", timedelta(days=3)), ("1d12h", timedelta(days=1, hours=12)),
        ("1.5d", timedelta(hours=36)), ("1h30m", timedelta(minutes=90))])
    def test_spans(self, text: str, span: timedelta) -> None:
        assert r.parse_span(text) == span

    def test_a_bad_span(self) -> None:
        with pytest.raises(InvalidInput, match="3d or 1d12h"):
            r.parse_span("three days")

    def test_at(self) -> None:
        assert r.parse_at("+3d", NOW) == NOW + timedelta(days=3)
        assert r.parse_at("2026-11-24T14:00", NOW) == datetime(2026, 11, 24, 14, tzinfo=UTC)
        assert r.parse_at("2026-11-24 15:00+01:00", NOW) == datetime(2026, 11, 24, 14,
                                                                     tzinfo=UTC)
        with pytest.raises(InvalidInput, match="not a time"):
            r.parse_at("tomorrow", NOW)


def rule_of(text: str) -> r.Rule:
    return r.parse_rules(text, "f").rules[0]


class TestEvaluation:
    def test_text_has_is_whole_words_case_folded(self) -> None:
        rule = rule_of('[[rule]]\nname = "a"\non = "create"\nif = { text_has = ["refund", '
                       '"login error", "0x80070005"] }\nthen = { queue = "q" }\n')

        def matches(text: str) -> bool:
            return r.holds(rule, view(words=r.words_of(text)), NOW, business_open=True)

        assert matches("REFUND please!")
        assert matches("Straße: I want my Refund.")
        assert not matches("I was refunded already")
        assert not matches("prerefund")
        assert matches("a Login  Error again")
        assert not matches("login; the error")
        assert matches("code 0x80070005 when saving")
        assert not matches("code 0x800700051")

    def test_fields_and_client(self) -> None:
        rule = rule_of('[[rule]]\nname = "a"\non = "create"\nif = { client = "ACME", '
                       'tier = "premium", channel = "email" }\nthen = { priority = "P2" }\n')
        assert r.holds(rule, view(client="acme", tier="premium", channel="email"), NOW,
                       business_open=None)
        assert not r.holds(rule, view(client="acme", tier="basic", channel="email"), NOW,
                           business_open=None)
        assert not r.holds(rule, view(client=None, tier="premium", channel="email"), NOW,
                           business_open=None)

    def test_waits(self) -> None:
        rule = rule_of('[[rule]]\nname = "a"\non = "schedule"\nif = { idle = "2h", '
                       'silent = "1d" }\nthen = { queue = "q" }\n')
        old = view(updated_at=NOW - timedelta(hours=2), created_at=NOW - timedelta(days=2))
        assert r.holds(rule, old, NOW, business_open=True)
        assert not r.holds(rule, old, NOW - timedelta(seconds=1), business_open=True)
        heard = view(updated_at=NOW - timedelta(hours=3), created_at=NOW - timedelta(days=2),
                     last_contact_at=NOW - timedelta(hours=23))
        assert not r.holds(rule, heard, NOW, business_open=True)

    def test_waiting_counts_only_while_waiting_on_the_caller(self) -> None:
        rule = rule_of('[[rule]]\nname = "a"\non = "schedule"\nif = { waiting = "3d" }\n'
                       'then = { queue = "q" }\n')
        since = NOW - timedelta(days=3)
        assert r.holds(rule, view(status="pending-caller", status_since=since), NOW,
                       business_open=True)
        assert r.holds(rule, view(status="resolved", status_since=since), NOW,
                       business_open=True)
        assert not r.holds(rule, view(status="open", status_since=since), NOW,
                           business_open=True)

    def test_business_hours(self) -> None:
        rule = rule_of('[[rule]]\nname = "a"\non = "create"\nif = { business_hours = false }\n'
                       'then = { queue = "night" }\n')
        assert r.holds(rule, view(), NOW, business_open=False)
        assert not r.holds(rule, view(), NOW, business_open=True)

    def test_sla(self) -> None:
        rule = rule_of('[[rule]]\nname = "a"\non = "schedule"\nif = { sla = "breached" }\n'
                       'then = { queue = "q" }\n')
        assert r.holds(rule, view(sla="breached"), NOW, business_open=True)
        assert not r.holds(rule, view(sla="at-risk"), NOW, business_open=True)


class TestEpisodes:
    RULE = ('[[rule]]\nname = "a"\non = "schedule"\nif = { status = "open", idle = "2h" }\n'
            'then = { priority = "P2" }\n')

    def test_fires_once_per_episode(self) -> None:
        rule = rule_of(self.RULE)
        ticket = view(updated_at=NOW - timedelta(hours=3))
        assert r.decide(rule, ticket, NOW, None, business_open=True) == r.Decision.FIRE
        episode = r.Episode(1, r.anchors(rule, ticket), True)
        assert r.decide(rule, ticket, NOW, episode, business_open=True) == r.Decision.SKIP

    def test_the_rules_own_change_keeps_the_episode(self) -> None:
        rule = rule_of(self.RULE)
        after_own_change = view(updated_at=NOW)
        episode = r.Episode(1, r.anchors(rule, after_own_change), True)
        # Two hours later the wait has run again from the rule's own change: same episode.
        later = NOW + timedelta(hours=2)
        assert r.decide(rule, after_own_change, later, episode,
                        business_open=True) == r.Decision.SKIP
        # Not yet two hours: nothing to do, the episode goes on.
        assert r.decide(rule, after_own_change, NOW + timedelta(minutes=5), episode,
                        business_open=True) == r.Decision.IDLE

    def test_someone_elses_change_ends_the_episode(self) -> None:
        rule = rule_of(self.RULE)
        episode = r.Episode(1, r.anchors(rule, view(updated_at=NOW - timedelta(hours=3))), True)
        touched = view(updated_at=NOW - timedelta(minutes=1))
        assert r.decide(rule, touched, NOW, episode, business_open=True) == r.Decision.END
        # ... and a restart unseen between two passes is a new episode straight away.
        assert r.decide(rule, touched, NOW + timedelta(hours=3), episode,
                        business_open=True) == r.Decision.FIRE

    def test_a_condition_that_stops_holding_ends_it(self) -> None:
        rule = rule_of(self.RULE)
        ticket = view(updated_at=NOW - timedelta(hours=3))
        episode = r.Episode(1, r.anchors(rule, ticket), True)
        closed = view(updated_at=NOW - timedelta(hours=3), status="pending-caller")
        assert r.decide(rule, closed, NOW, episode, business_open=True) == r.Decision.END
        ended = r.Episode(1, episode.anchors, False)
        assert r.decide(rule, ticket, NOW, ended, business_open=True) == r.Decision.FIRE

    def test_every_reply_is_its_own_episode(self) -> None:
        rule = rule_of('[[rule]]\nname = "a"\non = "reply"\nif = { text_has = "thanks" }\n'
                       'then = { note = "x" }\n')
        first = view(words=" thanks ", reply_key="n1")
        episode = r.Episode(1, r.anchors(rule, first), True)
        assert r.decide(rule, first, NOW, episode, business_open=True) == r.Decision.SKIP
        second = view(words=" thanks ", reply_key="n2")
        assert r.decide(rule, second, NOW, episode, business_open=True) == r.Decision.FIRE


def test_summary_for_the_list() -> None:
    rows = r.summarise(r.parse_rules(ISSUE_FILE, "f").rules)
    assert rows[1]["if"] == "priority P1|P2; status new|open; idle 2h"
    assert rows[1]["then"] == "queue tier2, status escalated, notify incident-room"
    assert r.describe("refund to billing", ["set queue billing"]) == \
        "rule 'refund to billing' set queue billing"


def test_every_rules_example_in_the_docs_parses() -> None:
    """docs/rules.md's examples are rules files that work (they cannot drift)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[[rule]]" in b]
    assert len(blocks) >= 2
    for block in blocks:
        assert r.parse_rules(block, "docs/rules.md").rules
