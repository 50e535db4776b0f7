"""Knowledge-base search speed against a floor measured in the same run (issue 6, "Speed").

Run:  python benchmarks/bench_kb.py [--tickets 100000] [--articles 5000] [--rounds 15]

Builds a scratch store with the sample ticket history (almost all of it resolved or
closed, so indexed) and generated articles, then times a set of realistic queries two
ways, alternately so drift in machine load hits both alike:

- floor: the FTS5 query alone through a bare ``sqlite3`` connection: the same MATCH text,
  ranked by the same weighted bm25, with the same snippet(), top 20;
- deskcli: ``KbService.search`` (query translation, filters, the joins that say what each
  hit is, the any-word fallback, building the hit objects).

It prints the median and p95 of each, per query and over all queries, and the ratio of
the medians (target: at most 2x). Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

QUERIES = [
    "0x800CCC0E", "Event ID 4740", "outlook password", "printer offline spooler",
    "KB5034441", "DNS_PROBE_FINISHED_NXDOMAIN", "teams screen sharing crash",
    "vpn gateway unreachable", "drive mapping gpo", "mfa authenticator phone",
]
TARGET = 2.0
WORDS = ("outlook exchange smtp imap teams sharepoint onedrive intune entra vpn firewall "
         "printer spooler driver laptop dock monitor wifi dns dhcp gpo profile cache "
         "licence mailbox calendar password lockout mfa token certificate update rollback "
         "backup restore quota permission group share folder sync crash freeze slow").split()
CODES = ["0x800CCC0E", "0x80070643", "0x80070035", "0x00000709", "Event ID 4625",
         "Event ID 4740", "Event ID 1000", "Event ID 41", "KB5034441", "AADSTS50126",
         "DNS_PROBE_FINISHED_NXDOMAIN", "ERR_CONNECTION_TIMED_OUT", "0xC004F074"]


def build(root: Path, tickets: int, articles: int) -> Path:
    os.environ["DESKCLI_HOME"] = str(root)
    from deskcli.clock import new_id
    from deskcli.services import demo
    from deskcli.services.desk import open_desk

    started = time.perf_counter()
    with open_desk(actor="bench") as desk:
        demo.seed(desk.store, count=tickets, now=desk.now(), policy=desk.config.sla,
                  new_id=new_id)
        rng = random.Random(11)
        now_iso = desk.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        rows, versions = [], []
        for index in range(articles):
            codes = rng.sample(CODES, k=rng.randint(0, 2))
            words = rng.sample(WORDS, k=4)
            body = "\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(
                4, 20)))
            columns = {"title": f"{words[0].title()} {words[1]} {words[2]} ({index})",
                       "body": body, "tags": ",".join(words[:2]),
                       "error_codes": ",".join(codes), "products": words[3],
                       "client_id": None}
            article_id = new_id()
            rows.append({"id": article_id, **columns, "created_at": now_iso,
                         "created_by": "bench", "revised_at": now_iso, "revised_by": "bench"})
            versions.append({"id": new_id(), "article_id": article_id, "at": now_iso,
                             "author": "bench", "changed": "created", **columns})
        with desk.store.transaction():
            desk.store.bulk_insert("kb_articles", rows)
            desk.store.bulk_insert("kb_versions", versions)
        path = desk.store.path
    indexed = sqlite3.connect(path).execute("SELECT count(*) FROM kb_docs").fetchone()[0]
    print(f"built {tickets:,} tickets + {articles:,} articles ({indexed:,} indexed) in "
          f"{time.perf_counter() - started:.1f} s")
    return Path(path)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deskcli-bench-kb-") as scratch:
        path = build(Path(scratch), args.tickets, args.articles)
        from deskcli.domain.kb import match_expression
        from deskcli.services.desk import open_desk
        from deskcli.services.kb import KbService
        from deskcli.storage.kb import KnowledgeBase

        weights = ", ".join(str(w) for w in KnowledgeBase.WEIGHTS)
        floor_sql = (f"SELECT rowid, bm25(kb_fts, {weights}) AS score, "
                     "snippet(kb_fts, -1, char(2), char(3), '…', 14), title "
                     "FROM kb_fts WHERE kb_fts MATCH ? ORDER BY score LIMIT 20")
        bare = sqlite3.connect(path)
        with open_desk(actor="bench") as desk:
            service = KbService.for_desk(desk)
            floors: dict[str, list[float]] = {q: [] for q in QUERIES}
            subjects: dict[str, list[float]] = {q: [] for q in QUERIES}
            hits: dict[str, int] = {}

            def timed(call: Callable[[], object]) -> float:
                started = time.perf_counter()
                call()
                return time.perf_counter() - started

            for round_number in range(args.rounds + 2):
                for query in QUERIES:
                    match = match_expression(query)
                    floor = timed(lambda m=match: bare.execute(floor_sql, (m,)).fetchall())
                    subject = timed(lambda q=query: hits.__setitem__(
                        q, len(service.search(q, limit=20))))
                    if round_number >= 2:  # two warm-up rounds
                        floors[query].append(floor)
                        subjects[query].append(subject)
        print(f"{'query':<30} {'hits':>4} {'floor med':>10} {'p95':>8} "
              f"{'deskcli med':>12} {'p95':>8} {'ratio':>6}")
        for query in QUERIES:
            f, s = statistics.median(floors[query]), statistics.median(subjects[query])
            f95, s95 = p95(floors[query]), p95(subjects[query])
            print(f"{query:<30} {hits[query]:>4} {f * 1000:>8.2f}ms {f95 * 1000:>6.2f}ms "
                  f"{s * 1000:>10.2f}ms {s95 * 1000:>6.2f}ms {s / f:>5.2f}x")
        all_floor = [v for values in floors.values() for v in values]
        all_subject = [v for values in subjects.values() for v in values]
        f, s = statistics.median(all_floor), statistics.median(all_subject)
        ratio = s / f
        verdict = "ok" if ratio <= TARGET else "OVER TARGET"
        print(f"all queries: floor median {f * 1000:.2f} ms, p95 {p95(all_floor) * 1000:.2f} "
              f"ms; deskcli median {s * 1000:.2f} ms, p95 {p95(all_subject) * 1000:.2f} ms; "
              f"ratio {ratio:.2f}x (target <= {TARGET}x: {verdict})")
        if ratio > TARGET:
            sys.exit(1)


if __name__ == "__main__":
    main()
