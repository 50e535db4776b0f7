"""The knowledge base through its service on a real SQLite file: ranking, tokenisation of
error codes, the index kept in step with every write, handles, history, links, import."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from deskcli.domain.errors import InvalidInput, NotFound
from deskcli.domain.intake import NewTicket
from deskcli.domain.kb import ArticleDraft
from deskcli.services.desk import Desk
from deskcli.services.kb import KbService
from deskcli.storage.migrations import LATEST
from deskcli.storage.store import Store
from helpers import FakeClock, SeqIds, make_desk, paths_under

FIX = "Rebuilt the Outlook profile and reset the SMTP port to 587 in account settings"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Desk:
    with make_desk(tmp_path, clock) as opened:
        yield opened


@pytest.fixture
def kb(desk: Desk) -> KbService:
    return KbService.for_desk(desk)


def resolved(desk: Desk, summary: str, *, error: str | None = None,
             cause: str = "Wrong SMTP port in the profile", fix: str = FIX,
             **extra: Any) -> str:
    row = desk.tickets.create(NewTicket(summary=summary, error=error, **extra))
    ref = str(row["number"])
    desk.tickets.resolve(ref, root_cause=cause, resolution=fix)
    return ref


class TestRanking:
    def test_exact_error_code_beats_a_loose_word(self, kb: KbService) -> None:
        kb.add(ArticleDraft(title="Mail client problems", body="Outlook outlook outlook "
                            "is slow, outlook crashes, outlook asks for passwords."))
        coded = kb.add(ArticleDraft(title="Sending fails", error_codes=["0x800CCC0E"],
                                    body="Outlook cannot reach the SMTP server."))
        hits = kb.search("outlook 0x800CCC0E")
        assert hits[0].ref_id == coded["id"]
        hits = kb.search("0x800ccc0e outlook smtp")
        assert hits[0].ref_id == coded["id"]

    def test_recent_fix_beats_old_one_at_equal_score(self, desk: Desk, kb: KbService,
                                                     clock: FakeClock) -> None:
        old = resolved(desk, "VPN drops every hour", error="Event ID 20227")
        clock.advance(days=40)
        new = resolved(desk, "VPN drops every hour", error="Event ID 20227")
        hits = kb.search("Event ID 20227")
        assert [h.ref for h in hits] == [f"#{new}", f"#{old}"]
        assert hits[0].score == pytest.approx(hits[1].score)

    def test_edited_article_counts_as_recent_and_keeps_the_article_boost(
            self, desk: Desk, kb: KbService, clock: FakeClock) -> None:
        first = kb.add(ArticleDraft(title="Printer offline", error_codes=["0x00000709"]))
        clock.advance(days=3)
        second = kb.add(ArticleDraft(title="Printer offline", error_codes=["0x00000709"]))
        ticket = resolved(desk, "Printer offline", error="0x00000709")
        assert [h.ref_id for h in kb.search("0x00000709")][:2] == [second["id"], first["id"]]
        clock.advance(days=3)
        kb.edit(first["id"], ArticleDraft(title="Printer offline", body="Restart spooler",
                                          error_codes=["0x00000709"]))
        hits = kb.search("0x00000709 printer")
        assert [h.kind for h in hits] == ["article", "article", "ticket"]
        assert hits[2].ref == f"#{ticket}"
        assert kb.search("0x00000709", kind="ticket")[0].ref == f"#{ticket}"
        assert {h.ref_id for h in kb.search("0x00000709", kind="article")} == {
            first["id"], second["id"]}

    def test_index_numbers_say_kind_and_time(self, desk: Desk, kb: KbService,
                                             clock: FakeClock) -> None:
        """Ranking reads kind and recency from the index row number alone (no lookup)."""
        for _ in range(3):  # several documents in the same second
            kb.add(ArticleDraft(title="Same second", body="x"))
            resolved(desk, "Same second", error="0x80070643")
        clock.advance(hours=5)
        resolved(desk, "Later", error="0x80070643")
        rows = desk.store.db.execute("SELECT doc, kind, at FROM kb_docs").fetchall()
        assert len({r["doc"] for r in rows}) == len(rows) == 7
        for row in rows:
            assert (row["doc"] < 0) == (row["kind"] == "article")
            seconds = int(desk.store.db.execute("SELECT strftime('%s', ?) AS s",
                                                 (row["at"],)).fetchone()["s"])
            assert abs(row["doc"]) >> 20 == seconds

    def test_snippet_highlights_the_match(self, kb: KbService) -> None:
        kb.add(ArticleDraft(title="Windows update stuck", error_codes=["KB5034441"],
                            body="The recovery partition is too small for KB5034441."))
        hit = kb.search("kb5034441")[0]
        assert "\x02KB5034441\x03" in hit.snippet
        assert "**KB5034441**" in hit.plain_snippet()

    def test_any_word_when_no_hit_has_every_word(self, kb: KbService) -> None:
        kb.add(ArticleDraft(title="Printer offline", body="Spooler stopped"))
        assert [h.title for h in kb.search("printer toaster")] == ["Printer offline"]


class TestTokenisation:
    @pytest.mark.parametrize("code", ["0x800CCC0E", "Event ID 4625",
                                      "DNS_PROBE_FINISHED_NXDOMAIN", "KB5034441"])
    def test_codes_match_as_whole_tokens(self, kb: KbService, code: str) -> None:
        article = kb.add(ArticleDraft(title="Known error", body=f"Seen: {code} on login."))
        assert [h.ref_id for h in kb.search(code)] == [article["id"]]
        assert [h.ref_id for h in kb.search(code.lower())] == [article["id"]]

    def test_a_longer_or_shorter_code_does_not_match(self, kb: KbService) -> None:
        kb.add(ArticleDraft(title="Known error", body="Seen: 0x800CCC0E1 and Event ID 46250"))
        assert kb.search("0x800CCC0E") == []
        assert kb.search("0x800CCC") == []
        assert kb.search("Event ID 4625") == []

    def test_a_quoted_event_id_is_still_one_phrase(self, kb: KbService) -> None:
        """Quoting "Event ID 4625" must not split it into "event" OR "id" OR ..."""
        kb.add(ArticleDraft(title="Logon failures", body="Seen: Event ID 4625 on the DC."))
        kb.add(ArticleDraft(title="Calendar", body="The event has no id; 4625 rooms."))
        assert [h.title for h in kb.search('"Event ID 4625"')] == ["Logon failures"]
        assert [h.title for h in kb.search('"event id 4625" dc')] == ["Logon failures"]

    @pytest.mark.parametrize("query", ['"', "*", "AND", "a OR", "NEAR(", "(x", "-", "col:x",
                                       '"unclosed', "^start"])
    def test_fts_syntax_never_reaches_the_user(self, kb: KbService, query: str) -> None:
        kb.add(ArticleDraft(title="AND OR NEAR", body="x start"))
        kb.search(query)  # no sqlite3.OperationalError


class TestIndexInStep:
    def test_edit_reindexes(self, kb: KbService) -> None:
        article = kb.add(ArticleDraft(title="Teams camera black", body="driver"))
        kb.edit(article["id"], ArticleDraft(title="Teams camera black",
                                            body="privacy shutter closed"))
        assert kb.search("driver") == []
        assert [h.ref_id for h in kb.search("shutter")] == [article["id"]]

    def test_reopened_ticket_leaves_and_resolved_again_returns(self, desk: Desk,
                                                               kb: KbService) -> None:
        ref = resolved(desk, "Mapped drive missing", error="0x80070035")
        assert len(kb.search("0x80070035")) == 1
        desk.tickets.reopen(ref, reason="came back after reboot")
        assert kb.search("0x80070035") == []
        desk.tickets.resolve(ref, root_cause="GPO not applied", resolution=FIX)
        assert kb.search("0x80070035")[0].ref == f"#{ref}"

    def test_deleted_rows_leave_the_index(self, desk: Desk, kb: KbService) -> None:
        article = kb.add(ArticleDraft(title="Delete me", body="zebra"))
        with desk.store.transaction():
            desk.store.db.execute("DELETE FROM kb_versions WHERE article_id = ?",
                                   (article["id"],))
            desk.store.db.execute("DELETE FROM kb_articles WHERE id = ?", (article["id"],))
        assert kb.search("zebra") == []
        assert desk.store.kb.index_row(article["id"]) is None

    def test_open_tickets_are_not_indexed(self, desk: Desk, kb: KbService) -> None:
        desk.tickets.create(NewTicket(summary="Open issue", error="0xDEADBEEF"))
        assert kb.search("0xDEADBEEF") == []

    def test_failed_write_leaves_no_index_row(self, kb: KbService, desk: Desk) -> None:
        with pytest.raises(RuntimeError), desk.store.transaction():
            desk.store.insert("kb_articles", {
                "id": "x1", "title": "Ghost", "body": "phantom", "tags": "",
                "error_codes": "", "products": "", "client_id": None, "created_at": "t",
                "created_by": "a", "revised_at": "t", "revised_by": "a"})
            raise RuntimeError("crash before commit")
        assert kb.search("phantom") == []


class TestMigration:
    def test_v4_indexes_tickets_already_resolved(self, tmp_path: Path) -> None:
        clock = FakeClock()
        path = paths_under(tmp_path).database
        old = Store.open(path, ids=SeqIds(), now_ms=lambda: 0, now_iso=lambda: "x",
                         migrate_to=3)
        old.close()
        with make_desk(tmp_path, clock) as desk:  # already v4: write, then roll back to v3
            ref = resolved(desk, "Printer queue stuck", error="0x00000709")
        raw = sqlite3.connect(path)
        raw.execute("DROP INDEX tickets_by_parent")
        raw.execute("DROP INDEX tickets_by_merged_into")
        raw.execute("ALTER TABLE tickets DROP COLUMN parent_id")
        raw.execute("ALTER TABLE tickets DROP COLUMN merged_into")
        for name in ("kb_fts", "kb_links", "kb_versions", "kb_articles", "kb_docs",
                     "csat_responses", "outbound", "sync_quarantine", "mail_messages",
                     "mailbox_state", "tag_changes", "ticket_tags",
                     "rule_firings"):  # and what later versions add
            raw.execute(f"DROP TABLE {name}")
        raw.execute("DROP INDEX events_by_mail_key")
        for index in ("tickets_by_assignee_status", "tickets_queue_key", "events_by_kind_at"):
            raw.execute(f"DROP INDEX {index}")
        for (trigger,) in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            raw.execute(f"DROP TRIGGER {trigger}")
        raw.execute("PRAGMA user_version = 3")
        raw.commit()
        raw.close()
        with make_desk(tmp_path, clock) as desk:
            assert desk.store.schema_version == LATEST
            assert [h.ref for h in KbService.for_desk(desk).search("0x00000709")] == [f"#{ref}"]


class TestArticles:
    def test_add_records_a_version_and_sync_ops(self, desk: Desk, kb: KbService) -> None:
        article = kb.add(ArticleDraft(title=" Outlook  prompts ", tags=["Outlook", "MFA"],
                                      error_codes=["0x800CCC0E"], body="Steps"))
        assert article["title"] == "Outlook prompts" and article["tags"] == "outlook,mfa"
        detail = kb.detail(article["id"][-8:])
        assert [v["changed"] for v in detail.versions] == ["created"]
        entities = [op["entity"] for op in desk.store.sync.outbox()]
        assert entities[-2:] == ["kb_article", "kb_version"]

    def test_edit_without_change_writes_nothing(self, desk: Desk, kb: KbService) -> None:
        article = kb.add(ArticleDraft(title="Same", body="text"))
        before = len(desk.store.sync.outbox())
        _, changed = kb.edit(article["id"], ArticleDraft(title="Same", body="text"))
        assert changed == [] and len(desk.store.sync.outbox()) == before

    def test_edit_records_who_changed_what(self, desk: Desk, kb: KbService,
                                           clock: FakeClock) -> None:
        article = kb.add(ArticleDraft(title="Old", body="text"))
        clock.advance(hours=1)
        kb.edit(article["id"], ArticleDraft(title="New", body="text", tags=["x"]))
        versions = kb.detail(article["id"]).versions
        assert versions[-1]["changed"] == "title,tags"
        assert versions[-1]["author"] == "dana" and versions[-1]["at"] > versions[0]["at"]

    def test_bad_input_writes_nothing(self, desk: Desk, kb: KbService) -> None:
        before = len(desk.store.sync.outbox())
        with pytest.raises(InvalidInput, match="needs a title"):
            kb.add(ArticleDraft(title="  "))
        with pytest.raises(InvalidInput, match="no client named 'Nope'"):
            kb.add(ArticleDraft(title="T", client="Nope"))
        assert len(desk.store.sync.outbox()) == before

    def test_handles(self, kb: KbService) -> None:
        article = kb.add(ArticleDraft(title="A"))
        assert kb.find(article["id"][-8:])["id"] == article["id"]
        assert kb.find(article["id"][:13])["id"] == article["id"]
        assert kb.find(article["id"].upper())["id"] == article["id"]
        with pytest.raises(NotFound):
            kb.find("ffffffff")
        with pytest.raises(InvalidInput, match="too short"):
            kb.find("ab")
        with pytest.raises(InvalidInput, match="not an article id"):
            kb.find("zzzz")

    def test_ambiguous_handle(self, kb: KbService) -> None:
        first = kb.add(ArticleDraft(title="A"))
        kb.add(ArticleDraft(title="B"))
        with pytest.raises(InvalidInput, match="ambiguous"):
            kb.find(first["id"][:8])

    def test_link_is_recorded_once_with_a_timeline_event(self, desk: Desk,
                                                         kb: KbService) -> None:
        ref = str(desk.tickets.create(NewTicket(summary="Mail stuck"))["number"])
        article = kb.add(ArticleDraft(title="Mail runbook"))
        assert kb.link(ref, article["id"])[1] is True
        assert kb.link(ref, article["id"])[1] is False
        assert len(kb.links_of_ticket(ref)) == 1
        kinds = [e["kind"] for e in desk.tickets.detail(ref).timeline]
        assert kinds.count("kb_linked") == 1
        assert len(kb.detail(article["id"]).links) == 1


class TestFilters:
    def test_client_tag_and_age(self, desk: Desk, kb: KbService, clock: FakeClock) -> None:
        old = resolved(desk, "Old mail fault", error="0x800CCC0E", client="Acme",
                       category="email")
        clock.advance(days=200)
        new = resolved(desk, "New mail fault", error="0x800CCC0E", client="Globex")
        everyone = kb.add(ArticleDraft(title="Mail fault runbook", error_codes=["0x800CCC0E"],
                                       tags=["email"]))
        refs = {h.ref for h in kb.search("0x800CCC0E", client="Acme")}
        assert refs == {f"#{old}", everyone["id"][-8:]}
        assert {h.ref for h in kb.search("0x800CCC0E", tag="email")} == {
            f"#{old}", everyone["id"][-8:]}
        assert {h.ref for h in kb.search("0x800CCC0E", since="90d")} == {
            f"#{new}", everyone["id"][-8:]}
        assert {h.kind for h in kb.search("0x800CCC0E", kind="ticket")} == {"ticket"}
        with pytest.raises(InvalidInput, match="--since '90x' is not a duration"):
            kb.search("x", since="90x")

    def test_from_a_ticket_only_articles_it_may_use(self, desk: Desk, kb: KbService) -> None:
        """Searching from an Acme ticket: past fixes of every client, but no runbook
        written for Globex (linking it would be refused)."""
        acme_fix = resolved(desk, "Acme mail fault", error="0x800CCC0E", client="Acme")
        globex_fix = resolved(desk, "Globex mail fault", error="0x800CCC0E", client="Globex")
        everyone = kb.add(ArticleDraft(title="Mail runbook", error_codes=["0x800CCC0E"]))
        acme = kb.add(ArticleDraft(title="Acme relay", error_codes=["0x800CCC0E"],
                                   client="Acme"))
        globex = kb.add(ArticleDraft(title="Globex relay", error_codes=["0x800CCC0E"],
                                     client="Globex"))
        acme_id = desk.store.contacts.client_by_name("Acme")["id"]
        refs = {h.ref for h in kb.search("0x800CCC0E", articles_for=acme_id)}
        assert refs == {f"#{acme_fix}", f"#{globex_fix}", everyone["id"][-8:],
                        acme["id"][-8:]}
        no_client = {h.ref for h in kb.search("0x800CCC0E", articles_for="")}
        assert globex["id"][-8:] not in no_client and everyone["id"][-8:] in no_client


class TestRepeats:
    def test_seen_before_counts_and_offers_the_latest_fix(self, desk: Desk, kb: KbService,
                                                          clock: FakeClock) -> None:
        resolved(desk, "Send fails", error="0x800CCC0E", fix=FIX)
        clock.advance(days=3)
        latest = resolved(desk, "Send fails again", error="Error 0x800CCC0E at send",
                          fix=FIX + " and cleared the outbox")
        new = desk.tickets.create(NewTicket(summary="Cannot send", error="0x800ccc0e"))
        repeat = kb.seen_before(new)
        assert repeat is not None and repeat.count == 2
        assert repeat.latest_ref == f"#{latest}" and "cleared the outbox" in repeat.latest_fix
        fresh = desk.tickets.create(NewTicket(summary="Other", error="0x12345678"))
        assert kb.seen_before(fresh) is None

    def test_an_event_id_is_seen_before_only_as_that_event_id(self, desk: Desk,
                                                             kb: KbService) -> None:
        """"Event ID 1000" is one phrase: a ticket that only mentions "event" or "id" (or
        another event id) is not the same fault."""
        same = resolved(desk, "Teams crashes", error="Event ID 1000: Application Error")
        resolved(desk, "Calendar event missing", error="the event has no id")
        resolved(desk, "Logon failures", error="Event ID 4625 on the DC")
        new = desk.tickets.create(NewTicket(summary="Teams crashes again",
                                            error="Event ID 1000, faulting module teams"))
        repeat = kb.seen_before(new)
        assert repeat is not None and repeat.count == 1 and repeat.latest_ref == f"#{same}"
        assert repeat.codes == ["Event ID 1000"]


class TestDrafts:
    def test_draft_from_ticket_then_edit_linked(self, desk: Desk, kb: KbService) -> None:
        ref = resolved(desk, "Send fails", error="0x800CCC0E",
                       cause="Port 25 blocked by the ISP",
                       fix="Set the SMTP port to 587 in Outlook\nEnable TLS on the account",
                       verbatim="Outlook won't send my mail")
        draft, article = kb.draft_for_ticket(ref)
        assert article is None
        assert "Outlook won't send my mail" in draft.body
        assert "Port 25 blocked" in draft.body and "2. Enable TLS on the account" in draft.body
        assert draft.error_codes == ["0x800CCC0E"]
        saved, changed = kb.save_for_ticket(ref, draft, None)
        assert changed
        again, linked = kb.draft_for_ticket(ref)
        assert linked is not None and linked["id"] == saved["id"]
