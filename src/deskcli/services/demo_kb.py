"""Sample knowledge-base articles for the sample store (never synced, like the tickets).

Kept apart from ``demo.seed`` so the sample tickets, and every picture taken of them,
stay exactly as they were; the app and ``deskcli demo`` call both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from deskcli.domain.timefmt import to_iso
from deskcli.storage.store import Store

# (title, tags, error codes, products, client name or None, days old, body)
ARTICLES: list[tuple[str, str, str, str, str | None, int, str]] = [
    ("Outlook cannot send: 0x800CCC0E", "email,outlook", "0x800CCC0E",
     "Microsoft 365,Outlook", None, 12,
     "## Symptom\n\nMail waits in the Outbox; Outlook reports 0x800CCC0E when it tries "
     "to reach the outgoing server.\n\n## Cause\n\nThe account still points at the SMTP "
     "host of a previous provider, or port 25 is blocked upstream.\n\n## Steps\n\n"
     "1. Open Account Settings and check the outgoing server name.\n"
     "2. Set it to smtp.office365.com, port 587, encryption STARTTLS.\n"
     "3. Send a test message and watch the Outbox empty.\n"),
    ("Locked out right after a password change (Event ID 4740)", "accounts,lockout",
     "Event ID 4740,Event ID 4625", "Entra ID,Active Directory", None, 40,
     "## Symptom\n\nThe user changed their password and is locked out within minutes. "
     "The domain controller logs Event ID 4740; failed sign-ins show Event ID 4625.\n\n"
     "## Cause\n\nA phone or tablet keeps retrying the old password.\n\n## Steps\n\n"
     "1. Find the source device in the 4740 event's Caller Computer Name.\n"
     "2. Unlock the account.\n"
     "3. Remove or update the saved password on that device, then confirm no new 4740.\n"),
    ("Browser says DNS_PROBE_FINISHED_NXDOMAIN for internal sites", "network,dns",
     "DNS_PROBE_FINISHED_NXDOMAIN", "Chrome,Windows DNS", None, 75,
     "## Symptom\n\nChrome and Edge cannot open intranet names; public sites work.\n\n"
     "## Cause\n\nThe laptop got a public DNS server from a hotel or home router and the "
     "VPN is not connected.\n\n## Steps\n\n1. Connect the VPN.\n"
     "2. Run ipconfig /flushdns.\n3. Check nslookup against the internal DNS server.\n"),
    ("KB5034441 fails to install with 0x80070643", "patching,windows",
     "KB5034441,0x80070643", "Windows 10,RMM", None, 200,
     "## Symptom\n\nWindows Update retries KB5034441 and fails with 0x80070643.\n\n"
     "## Cause\n\nThe recovery partition is too small for the updated WinRE image.\n\n"
     "## Steps\n\n1. Pause the update in the RMM patch policy for the affected ring.\n"
     "2. Resize the recovery partition following the vendor runbook (Tier 2).\n"
     "3. Release the update again and confirm it installs.\n"),
    ("Printer shows offline: clear the spooler", "printing", "0x00000709",
     "Windows Print Server", "Cedar & Pine Law", 20,
     "## Symptom\n\nEveryone on one floor sees the printer as offline.\n\n## Cause\n\n"
     "One corrupt job blocks the queue on the print server.\n\n## Steps\n\n"
     "1. On PRN-SRV01 stop the Print Spooler service.\n"
     "2. Delete the stuck files in the spool folder.\n3. Start the service and print a "
     "test page.\n"),
    ("Teams closes while sharing the screen (Event ID 1000)", "collaboration,teams",
     "Event ID 1000", "Microsoft Teams", None, 5,
     "## Symptom\n\nTeams exits as soon as screen sharing starts; Application log shows "
     "Event ID 1000 for ms-teams.exe.\n\n## Cause\n\nThe graphics driver crashes during "
     "screen capture.\n\n## Steps\n\n1. Clear the Teams cache.\n2. Update the GPU "
     "driver from the vendor package in Intune.\n3. Share a screen in a test call.\n"),
]


def seed_articles(store: Store, *, now: datetime, new_id: Callable[[], str],
                  author: str = "dana") -> int:
    """Write the sample articles (and their first versions) without sync ops; an article
    the store already has (a second ``deskcli demo``) is not written twice."""
    articles, versions = [], []
    with store.transaction():
        present = {row["title"] for row in store.kb.articles()}
        for title, tags, codes, products, client, days, body in ARTICLES:
            if title in present:
                continue
            client_row = store.contacts.client_by_name(client) if client else None
            at = to_iso(now - timedelta(days=days))
            article_id = new_id()
            columns = {"title": title, "body": body, "tags": tags, "error_codes": codes,
                       "products": products,
                       "client_id": client_row["id"] if client_row else None}
            articles.append({"id": article_id, **columns, "created_at": at,
                             "created_by": author, "revised_at": at, "revised_by": author})
            versions.append({"id": new_id(), "article_id": article_id, "at": at,
                             "author": author, "changed": "created", **columns})
        if articles:
            store.bulk_insert("kb_articles", articles)
            store.bulk_insert("kb_versions", versions)
    return len(articles)
