"""KB articles, their versions and ticket links through a real team server: scope rules
(one client's article only for that client's technicians, an all-clients one for
everyone) and a full-text index that is right after every pull."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskcli.domain.kb import ArticleDraft
from deskcli.services.desk import Desk
from deskcli.services.kb import KbService
from deskcli.sync.client import SyncClient
from deskcli.sync.credentials import Credentials
from helpers import FakeClock, make_desk

from .conftest import TeamServer, Tech
from .test_sync import new, sync_all

pytestmark = pytest.mark.subprocess

FIX = "Changed the Outlook SMTP port to 587 with TLS in account settings"


def kb(desk: Desk) -> KbService:
    return KbService.for_desk(desk)


def titles(desk: Desk, query: str) -> set[str]:
    return {hit.title for hit in kb(desk).search(query)}


def table(desk: Desk, name: str) -> list[dict[str, object]]:
    return desk.store.db.execute(f"SELECT * FROM {name} ORDER BY id").fetchall()


def test_articles_versions_and_links_converge_with_the_index(team: dict[str, Tech]) -> None:
    ana, ben = team["ana"], team["ben"]
    ticket = new(ana.desk, "Mail stuck", error="0x800CCC0E")
    everyone = kb(ana.desk).add(ArticleDraft(title="Outlook send fails",
                                             error_codes=["0x800CCC0E"], body="port 25"))
    acme = kb(ana.desk).add(ArticleDraft(title="Acme relay", body="relay smtp.acme",
                                         client="Acme"))
    kb(ana.desk).link(ticket, everyone["id"])
    sync_all(ana, ben)
    assert titles(ben.desk, "0x800CCC0E") == {"Outlook send fails"}
    assert titles(ben.desk, "relay") == {"Acme relay"}
    assert len(kb(ben.desk).detail(everyone["id"]).links) == 1

    # Ben edits; Ana's index must follow after her pull.
    kb(ben.desk).edit(everyone["id"], ArticleDraft(title="Outlook send fails",
                                                   error_codes=["0x800CCC0E"],
                                                   body="use port 587 submission"))
    sync_all(ben, ana)
    assert titles(ana.desk, "submission") == {"Outlook send fails"}
    assert titles(ana.desk, '"port 25"') == set()
    assert [v["changed"] for v in kb(ana.desk).detail(everyone["id"]).versions] == [
        "created", "body"]
    for name in ("kb_articles", "kb_versions", "kb_links"):
        assert table(ana.desk, name) == table(ben.desk, name), name
    assert ana.desk.store.kb.index_row(acme["id"]) == ben.desk.store.kb.index_row(acme["id"])


def test_resolved_ticket_pulled_is_searchable(team: dict[str, Tech]) -> None:
    ana, ben = team["ana"], team["ben"]
    ref = new(ana.desk, "Printer offline", error="0x00000709")
    ana.desk.tickets.resolve(ref, root_cause="Stale print driver", resolution=FIX)
    sync_all(ana, ben)
    hits = kb(ben.desk).search("0x00000709")
    assert [h.kind for h in hits] == ["ticket"]
    ben.desk.tickets.reopen(hits[0].ref, reason="printer offline again after update")
    sync_all(ben, ana)
    assert kb(ana.desk).search("0x00000709") == []


def test_concurrent_body_edits_keep_both_texts_in_history(team: dict[str, Tech]) -> None:
    ana, ben = team["ana"], team["ben"]
    article = kb(ana.desk).add(ArticleDraft(title="VPN", body="first"))
    sync_all(ana, ben)
    kb(ana.desk).edit(article["id"], ArticleDraft(title="VPN", body="ana's steps"))
    kb(ben.desk).edit(article["id"], ArticleDraft(title="VPN", body="ben's steps"))
    sync_all(ana, ben)
    bodies = {v["body"] for v in kb(ana.desk).detail(article["id"]).versions}
    assert {"ana's steps\n", "ben's steps\n"} <= bodies
    assert table(ana.desk, "kb_articles") == table(ben.desk, "kb_articles")
    winner = kb(ana.desk).find(article["id"])["body"]
    assert titles(ana.desk, winner.split("'")[0]) == {"VPN"}


def test_scope_one_client_or_everyone(server: TeamServer, team: dict[str, Tech],
                                      tmp_path: Path) -> None:
    token = server.add("gil", ["Globex"])
    gil = make_desk(tmp_path / "gil", FakeClock(), actor="gil")
    client = SyncClient(gil, Credentials(server.url, token, "t"))
    try:
        new(gil, "Globex printer", client="Globex")
        kb(gil).add(ArticleDraft(title="Globex only runbook", body="globex vpn",
                                 client="Globex"))
        kb(gil).add(ArticleDraft(title="Shared runbook", body="everyone vpn"))
        client.sync()
        ana = team["ana"]
        ana.sync()
        assert titles(ana.desk, "vpn") == {"Shared runbook"}
        assert {r["title"] for r in table(ana.desk, "kb_articles")} == {"Shared runbook"}
        # Ana (Acme) may not write an article for Globex: refused, never applied.
        new(ana.desk, "Acme ticket")
        with ana.desk.store.transaction():
            ana.desk.tickets.ensure_client("Globex", "2026-11-24T09:00:00Z")
        kb(ana.desk).add(ArticleDraft(title="Sneaky Globex note", client="Globex"))
        report = ana.sync()
        assert report.rejected
        client.sync()
        assert "Sneaky Globex note" not in {r["title"] for r in table(gil, "kb_articles")}
    finally:
        client.close()
        gil.close()
