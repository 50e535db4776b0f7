"""Survey answers and survey_sent events travel through a real server like notes do."""

from __future__ import annotations

import pytest

from deskcli.domain import metrics
from deskcli.domain.intake import NewTicket
from helpers import settle_steps

from .conftest import Tech

pytestmark = pytest.mark.subprocess

FIX = "Cleared the cached credentials in Windows Credential Manager; KB 4567"


def test_answer_recorded_on_one_laptop_reaches_the_other(team: dict[str, Tech]) -> None:
    ana, ben = team["ana"], team["ben"]
    t = ana.desk.tickets
    ticket_id = str(t.create(NewTicket.from_mapping(
        {"summary": "Outlook asks for a password", "client": "Acme"}))["id"])
    t.update(ticket_id, {"status": "open"})
    t.resolve(ticket_id, root_cause="Stale token", resolution=FIX)
    t.log_time(ticket_id, "10m")
    settle_steps(ana.desk, ticket_id)
    t.close(ticket_id)
    t.record_survey_sent(ticket_id, "email")
    for tech in (ana, ben, ana, ben):
        tech.sync()
    assert ben.desk.tickets.survey_state(ticket_id) is metrics.SurveyState.PENDING
    ben.desk.tickets.record_csat(ticket_id, 5, "Sorted in minutes")
    for tech in (ben, ana):
        tech.sync()
    answers = ana.desk.store.timeline.csat_responses(ticket_id)
    assert [(a["score"], a["comment"], a["author"]) for a in answers] == [
        (5, "Sorted in minutes", "ben")]
    assert ana.desk.tickets.survey_state(ticket_id) is metrics.SurveyState.ANSWERED
