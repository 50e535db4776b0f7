"""Templates and canned responses: placeholders checked, filled, shortcodes expanded."""

from __future__ import annotations

import pytest

from deskcli.domain.errors import InvalidInput
from deskcli.domain.templates import Template, expand_shortcodes, placeholders_in


def test_render_puts_the_ticket_number_in_the_subject() -> None:
    template = Template.parse("x", "Subject: About {summary}\n\nHi {caller}, {ticket}.\n",
                              where="x.txt")
    subject, body = template.render({"ticket": "#4521", "caller": "Ana", "summary": "VPN"})
    assert subject == "[#4521] About VPN"
    assert body == "Hi Ana, #4521.\n"


@pytest.mark.parametrize("text", ["{caller!r}", "{caller:>10}", "{0}", "{", "{ticket.id}"])
def test_odd_placeholders_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        placeholders_in(text, where="t")


def test_shortcodes_expand_known_snippets_and_leave_paths_alone() -> None:
    snippets = {"ack": "Hi {caller}, {ticket} is logged.", "fixed": "Should work now."}
    text = expand_shortcodes("/ack Check /var/log/syslog. /fixed /unknown", snippets,
                             {"caller": "Ana", "ticket": "#7"})
    assert text == "Hi Ana, #7 is logged. Check /var/log/syslog. Should work now. /unknown"
