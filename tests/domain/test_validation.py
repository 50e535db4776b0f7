"""Field rules: durations, emails, the one-line rule, the resolution-note rule and the
escalation handoff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskcli.domain import validation
from deskcli.domain.durations import parse_duration
from deskcli.domain.errors import InvalidInput, Refused
from deskcli.domain.validation import EscalationNotes, resolution_problems


@pytest.mark.parametrize(("text", "minutes"), [
    ("1h15m", 75), ("90m", 90), ("1.5h", 90), ("1:15", 75), ("45", 45), ("2h", 120),
    ("1 h 5 min", 65), ("3 hours", 180),
])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "soon", "1x", "h", "-5m", "1:75", "m"])
def test_bad_durations_say_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a duration: write a number and a unit"):
        parse_duration(text)


@given(st.integers(0, 23), st.integers(0, 59))
def test_duration_forms_agree(hours: int, minutes: int) -> None:
    expected = timedelta(hours=hours, minutes=minutes)
    assert parse_duration(f"{hours}h{minutes}m") == expected
    assert parse_duration(f"{hours}:{minutes:02d}") == expected


def test_time_entry_refuses_zero_and_more_than_a_day() -> None:
    with pytest.raises(InvalidInput, match="at least one minute"):
        validation.time_entry("0m")
    with pytest.raises(InvalidInput, match="longer than one day"):
        validation.time_entry("25h")
    assert validation.time_entry("24h") == 24 * 60


@pytest.mark.parametrize("address", ["a@b.co", "Dana.Smith+it@acme.example.com"])
def test_good_emails_are_lowercased(address: str) -> None:
    assert validation.email(address) == address.lower()


@pytest.mark.parametrize("address", ["dana", "dana@", "@acme.com", "dana@acme", "a b@c.com"])
def test_bad_emails(address: str) -> None:
    with pytest.raises(InvalidInput, match="expected name@example.com"):
        validation.email(address)


def test_summary_rules() -> None:
    assert validation.summary("  VPN down  ") == "VPN down"
    with pytest.raises(InvalidInput, match="summary is required"):
        validation.summary("   ")
    with pytest.raises(InvalidInput, match="at most 200"):
        validation.summary("x" * 201)
    with pytest.raises(InvalidInput, match="one line"):
        validation.summary("a\nb")


@pytest.mark.parametrize("note", [
    "Rebooted and it worked",
    "fixed",
    "works now",
    "restarted the print spooler service on the print server",  # no named system
    "reset the password and it works now for the user",
])
def test_vague_resolutions_are_refused(note: str) -> None:
    assert resolution_problems(note)
    with pytest.raises(Refused, match="name the system, the setting or command"):
        validation.check_resolution(note)


@pytest.mark.parametrize("note", [
    "Cleared Outlook autodiscover cache via Test E-mail AutoConfiguration; KB 4567",
    "Restarted the Print Spooler service on PRN-SRV01 and cleared the stuck job",
    "Reset the password in Entra ID after callback verification, user signed in",
    "Removed stale key HKCU\\Software\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover and retested",
    "Re-pointed SMTP host to smtp.office365.com port 587 for error 0x800CCC0E",
])
def test_specific_resolutions_pass(note: str) -> None:
    assert resolution_problems(note) == []


def test_resolution_problems_explain_each_failure() -> None:
    problems = resolution_problems("Rebooted")
    assert any("only 1 word" in p for p in problems)
    assert any("names no system" in p for p in problems)


def test_escalation_lists_every_missing_part() -> None:
    with pytest.raises(Refused) as caught:
        EscalationNotes.build(queue="networking", repro="", error=None, tried="x", impact="")
    message = caught.value.message
    assert "reproduction steps" in message and "error text" in message
    assert "user impact" in message and "target queue" not in message
    assert caught.value.field == "repro"


def test_complete_escalation_makes_a_handoff_note() -> None:
    notes = EscalationNotes.build(queue="networking", repro="Connect VPN, wait 5 min",
                                  error="error 1809", tried="Reinstalled client",
                                  impact="Sales team of 6 cannot reach CRM", asset="LAPTOP-0042")
    text = notes.as_note()
    for part in ("networking", "Connect VPN", "1809", "Reinstalled", "Sales team", "LAPTOP-0042"):
        assert part in text


def test_count_rules() -> None:
    assert validation.count("3", field="users") == 3
    assert validation.count(None, field="users") is None
    for bad in ("-1", "many", True):
        with pytest.raises(InvalidInput):
            validation.count(bad, field="users")


# --- the one-line rule (issue 15) ------------------------------------------------------


@pytest.mark.parametrize(("value", "named"), [
    ("Printer\rjam", "U+000D CR (carriage return)"),
    ("Printer\x0bjam", "U+000B VT"),
    ("Printer\x0cjam", "U+000C FF"),
    ("Printer\x85jam", "U+0085 NEL"),
    ("Printer\u2028jam", "U+2028 LS"),
    ("Printer\u2029jam", "U+2029 PS"),
    ("Printer\x1b[2Jjam", "U+001B ESC"),
    ("Printer\x07jam", "U+0007 BEL"),
    ("Printer\x9bjam", "U+009B CSI"),
    ("Printer\x7fjam", "U+007F DEL"),
    ("Printer\tjam", "U+0009 TAB"),
    ("Printer\ud800jam", "lone surrogate"),
    ("invoice\u202efdp.exe", "bidi override"),
])
def test_one_line_fields_refuse_controls_by_name(value: str, named: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validation.check_one_line("summary", value)
    assert named in refused.value.message and "character 8" in refused.value.message
    with pytest.raises(InvalidInput):
        validation.summary(value)


@pytest.mark.parametrize("value", ["Printer jams on tray 2", "打印机 👩‍💻", "Café, Inc.",
                                    "مرحبا بالعالم", "e\u0301"])
def test_one_line_fields_accept_printable_text_in_any_script(value: str) -> None:
    assert validation.check_one_line("summary", value) == value
