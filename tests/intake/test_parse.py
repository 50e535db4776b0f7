"""The parsing, trimming, loop and threading rules on the corpus (no IMAP needed)."""

from __future__ import annotations

import pytest

from deskcli.domain.enums import Status
from deskcli.domain.mail import (
    MailKind,
    ReplyEffect,
    clean_subject,
    html_to_text,
    our_ticket_id,
    parse,
    reply_effect,
    subject_tag,
    tag_refusal,
    tag_subject,
    trim_reply,
)
from intake import corpus

OWN = ["support@example.org"]


def test_plain_message_gives_summary_words_and_error_codes() -> None:
    mail = parse(corpus.plain(), own_addresses=OWN)
    assert mail.kind is MailKind.PERSON
    assert mail.sender == "alice@acme.example"
    assert mail.sender_name == "Alice Smith"
    assert mail.summary == "Outlook keeps asking for my password"
    assert mail.message_id == mail.key == "<p1@acme.example>"
    assert "0x800CCC0E" in mail.error_codes
    assert mail.problems == ()


def test_html_only_mail_becomes_readable_text_without_scripts_or_styles() -> None:
    mail = parse(corpus.html_only())
    assert "The printer PRN-3F jams on every page." in mail.words
    assert "- tried new paper" in mail.words
    assert "Thanks & regards" in mail.words
    assert "alert" not in mail.body and "color" not in mail.body and "<" not in mail.body


def test_attachments_are_decoded_with_their_names() -> None:
    mail = parse(corpus.with_attachments())
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("vpn-error.png", "image/png"), ("vpn.log", "text/plain")]
    assert mail.attachments[0].data.startswith(b"\x89PNG")


def test_rfc2047_names_and_subjects_are_decoded() -> None:
    mail = parse(corpus.rfc2047())
    assert mail.sender_name == "Jürgen Müller"
    assert mail.summary == "Drucker druckt nicht – Büro Zürich"
    assert "Grüße aus Zürich" in mail.words


def test_outlook_reply_loses_the_quoted_history() -> None:
    mail = parse(corpus.outlook_reply("<x@y>", "We have your request"))
    assert mail.words.startswith("It still happens after the restart.")
    assert "Thanks for getting in touch" not in mail.words
    assert "Thanks for getting in touch" in mail.body  # the whole text is kept
    assert mail.summary == "We have your request"
    assert mail.thread_ids() == ["<x@y>"]


def test_gmail_reply_loses_the_quote_and_its_header() -> None:
    mail = parse(corpus.gmail_reply("<a@b>", "[#12] We have your request", prefix="AW: SV:",
                                    references="<root@x> <a@b>"))
    assert mail.words == "Yes, restarting fixed it for now."
    assert mail.tag == 12
    assert mail.summary == "We have your request"
    assert mail.thread_ids() == ["<a@b>", "<root@x>"]


@pytest.mark.parametrize(("subject", "clean"), [
    ("RE: Re: AW: printer", "printer"),
    ("SV: VS: Fwd: FW: printer", "printer"),
    ("Re[2]: printer", "printer"),
    ("Re: [#4521] printer", "printer"),
    ("[#4521] Re: printer [#4521]", "printer"),
    ("   ", "(no subject)"),
    ("Re:", "(no subject)"),
    ("Reboot loop", "Reboot loop"),
    ("Antwort: Drucker", "Drucker"),
    ("x" * 300, "x" * 199 + "…"),
])
def test_subject_cleaning(subject: str, clean: str) -> None:
    assert clean_subject(subject) == clean


def test_tags_read_and_written() -> None:
    assert subject_tag("Re: help [#77] please") == 77
    assert subject_tag("help #77") is None
    assert tag_subject("We have your request", 77) == "[#77] We have your request"
    assert tag_subject("[#77] already", 77) == "[#77] already"
    assert tag_subject("provisional", None) == "provisional"


@pytest.mark.parametrize("builder", [corpus.out_of_office, corpus.bounce, corpus.mailing_list])
def test_automatic_messages_are_recognised(builder: object) -> None:
    mail = parse(builder(), own_addresses=OWN)  # type: ignore[operator]
    assert mail.kind is MailKind.AUTOMATIC
    assert mail.kind_reason


@pytest.mark.parametrize("headers", [
    {"Precedence": "bulk"}, {"Precedence": "auto_reply"}, {"X-Autoreply": "yes"},
    {"X-Auto-Response-Suppress": "OOF"}, {"Auto-Submitted": "auto-generated"},
])
def test_each_loop_header_alone_marks_a_message_automatic(headers: dict[str, str]) -> None:
    assert parse(corpus.plain(**headers)).kind is MailKind.AUTOMATIC


def test_auto_submitted_no_is_a_person() -> None:
    assert parse(corpus.plain(Auto_Submitted="no")).kind is MailKind.PERSON


def test_our_own_mail_is_never_a_person() -> None:
    assert parse(corpus.ours(), own_addresses=OWN).kind is MailKind.OURS
    from_us = corpus.plain(sender="Support@Example.org")
    assert parse(from_us, own_addresses=OWN).kind is MailKind.OURS


def test_message_without_id_is_keyed_by_its_content() -> None:
    one = parse(corpus.no_message_id())
    assert one.message_id is None and one.key.startswith("sha256:")
    assert parse(corpus.no_message_id()).key == one.key
    assert parse(corpus.no_message_id("Other words.\n")).key != one.key


def test_bad_mail_is_parsed_as_far_as_it_goes() -> None:
    charset = parse(corpus.bad_charset())
    assert "types nothing" in charset.words and "charset" in charset.problems[0]
    assert "does not boot" in parse(corpus.malformed_mime()).words
    assert parse(corpus.no_from()).sender is None
    long = parse(corpus.long_body())
    assert long.problems and len(long.body) < 20_000


def test_our_message_ids_name_their_ticket() -> None:
    tid = "019a0000-0000-7000-8000-000000000001"
    assert our_ticket_id(f"<deskcli-{tid}-acknowledgement-mail-1@deskcli.invalid>") == tid
    assert our_ticket_id(f"<ticket-{tid}@deskcli.invalid>") == tid
    assert our_ticket_id(f"<ticket-{tid}@evil.example>") is None


def test_trim_keeps_text_that_is_all_quote() -> None:
    assert trim_reply("> only a quote") == "> only a quote"
    assert trim_reply("Hi\n-- \nAlice\nPhone 123") == "Hi"
    assert trim_reply("Fixed\n\nSent from my iPhone") == "Fixed"


def test_html_quotes_are_marked_for_trimming() -> None:
    text = html_to_text("<div>New words</div><blockquote>old words</blockquote>")
    assert trim_reply(text) == "New words"


def test_reply_effects() -> None:
    assert reply_effect(Status.PENDING_CALLER) is ReplyEffect.BACK_TO_OPEN
    assert reply_effect(Status.RESOLVED) is ReplyEffect.REOPEN
    assert reply_effect(Status.CLOSED) is ReplyEffect.NEW_LINKED
    assert reply_effect(Status.OPEN) is ReplyEffect.NOTE


def test_a_tag_attaches_only_for_a_party_of_the_same_client() -> None:
    assert tag_refusal(number=5, sender="a@x", parties=["A@x"], ticket_client="Acme",
                       mailbox_client=None) is None
    assert "not a party" in str(tag_refusal(number=5, sender="m@evil", parties=["a@x"],
                                            ticket_client="Acme", mailbox_client=None))
    assert "another client" in str(tag_refusal(number=5, sender="a@x", parties=["a@x"],
                                               ticket_client="Acme", mailbox_client="Globex"))


def test_control_characters_from_a_message_are_dropped() -> None:
    raw = corpus.plain("Printer \x1b]0;owned\x07 jams", body="Hello \x1b[31mred\x1b[0m\n",
                       name="Eve\x1b[2J")
    mail = parse(raw)
    assert "\x1b" not in mail.summary + mail.body + mail.words + str(mail.sender_name)
    assert mail.summary == "Printer ]0;owned jams"


def test_a_bounce_names_the_message_it_returns() -> None:
    mail = parse(corpus.bounce(original_id="<deskcli-x@deskcli.invalid>"))
    assert "<deskcli-x@deskcli.invalid>" in mail.thread_ids()


def test_a_sentence_ending_in_wrote_is_not_a_quote_header() -> None:
    text = "On Monday I wrote\nto the vendor and nothing happened.\nStill broken."
    assert trim_reply(text) == text
    gmail = "Fixed.\nOn Tue, 24 Nov 2026 at 09:01, Desk <d@x>\nwrote:\n> old"
    assert trim_reply(gmail) == "Fixed."
