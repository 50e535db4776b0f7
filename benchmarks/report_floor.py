"""The floor of ``bench_report.py``: ``deskcli report``'s figures computed the most direct
way, with nothing of deskcli imported.

    python benchmarks/report_floor.py DATABASE SINCE UNTIL      # ISO instants, UTC

Every figure ``report --format tsv`` prints for the whole window (``--by`` none), by the
same definitions (``docs/metrics.md``) under the default SLA policy (its targets per
priority and contract tier, the clock paused while pending on the caller): one temporary
table of per-ticket facts (one grouped pass over the events that matter, after one over
the resolutions), then aggregates over it in SQL, medians by ``ORDER BY … LIMIT/OFFSET``.
Error codes are read with the same three patterns from each distinct error text (a
``GROUP BY`` first, so a few dozen texts, not a million, go through Python). Its rows
are printed as the report's TSV rows, so the two can be compared line by line
(``bench_report.py --check``). Memory stays flat: SQLite sorts and groups on disk.
"""

from __future__ import annotations

import re
import sqlite3
import sys

#: The default targets in seconds, (response, resolve) per (priority, tier).
TARGETS = {
    ("P1", None): (900, 14400), ("P2", None): (3600, 28800),
    ("P3", None): (14400, 86400), ("P4", None): (28800, 259200),
    ("P1", "premium"): (600, 7200), ("P2", "premium"): (1800, 14400),
    ("P3", "premium"): (7200, 43200), ("P4", "premium"): (14400, 172800),
    ("P1", "basic"): (3600, 28800), ("P2", "basic"): (14400, 86400),
    ("P3", "basic"): (28800, 259200), ("P4", "basic"): (86400, 432000),
}


def target_sql(which: int) -> str:
    whens = " ".join(f"WHEN t.priority = '{p}' AND k.contract_tier = '{tier}' THEN {v[which]}"
                     for (p, tier), v in TARGETS.items() if tier)
    base = " ".join(f"WHEN t.priority = '{p}' THEN {v[which]}"
                    for (p, tier), v in TARGETS.items() if not tier)
    return f"CASE {whens} {base} END"


CALLER = ("(e.kind = 'public_reply' OR (e.kind = 'message_sent' "
          "AND json_extract(e.detail, '$.audience') = 'caller'))")
PAUSE = ("(e.kind = 'status_changed' AND json_extract(e.detail, '$.to') = 'pending-caller')")
RESUME = ("(e.kind = 'status_changed' "
          "AND json_extract(e.detail, '$.from') = 'pending-caller')")

FACTS = f"""
CREATE TEMP TABLE first_res AS
  SELECT ticket_id, min(unixepoch(at)) AS res FROM events
  WHERE kind = 'resolved' AND at < :until GROUP BY ticket_id;
CREATE INDEX temp.first_res_id ON first_res(ticket_id);
CREATE TEMP TABLE facts AS
WITH scope AS (
  SELECT id FROM tickets WHERE created_at >= :since AND created_at < :until
  UNION
  SELECT ticket_id FROM events WHERE kind IN ('resolved', 'survey_sent')
    AND at >= :since AND at < :until
  UNION
  SELECT ticket_id FROM csat_responses WHERE at >= :since AND at < :until),
ev AS (
  SELECT e.ticket_id,
    min(CASE WHEN {CALLER} THEN unixepoch(e.at) END) AS frt,
    sum({CALLER} AND (r.res IS NULL OR unixepoch(e.at) < r.res)) AS contacts,
    sum(CASE WHEN r.res IS NOT NULL AND unixepoch(e.at) < r.res THEN
          CASE WHEN {PAUSE} THEN -unixepoch(e.at) WHEN {RESUME} THEN unixepoch(e.at)
          ELSE 0 END ELSE 0 END) AS paused,
    sum({PAUSE} AND r.res IS NOT NULL AND unixepoch(e.at) < r.res)
      - sum({RESUME} AND r.res IS NOT NULL AND unixepoch(e.at) < r.res) AS open_pause,
    max({PAUSE} AND (r.res IS NULL OR unixepoch(e.at) < r.res)) AS waited,
    max(e.kind = 'escalated') AS escalated,
    max(e.kind = 'reopened') AS reopened,
    max(CASE WHEN e.kind = 'reopened' THEN unixepoch(e.at) END) AS last_reopen,
    max(CASE WHEN e.kind = 'survey_sent' THEN unixepoch(e.at) END) AS last_survey
  FROM scope s JOIN events e ON e.ticket_id = s.id
  LEFT JOIN temp.first_res r ON r.ticket_id = e.ticket_id
  WHERE e.at < :until AND e.kind IN ('public_reply', 'message_sent', 'status_changed',
                                     'escalated', 'reopened', 'survey_sent')
  GROUP BY e.ticket_id)
SELECT t.id, t.number, t.category, t.error_text, unixepoch(t.created_at) AS created,
  {target_sql(0)} AS response_target, {target_sql(1)} AS resolve_target,
  ev.frt, r.res, coalesce(ev.contacts, 0) AS contacts,
  coalesce(ev.paused, 0) + CASE WHEN ev.open_pause > 0 THEN r.res ELSE 0 END AS paused,
  coalesce(ev.waited, 0) AS waited, coalesce(ev.escalated, 0) AS escalated,
  coalesce(ev.reopened, 0) AS reopened,
  CASE WHEN ev.last_survey IS NOT NULL AND (ev.last_reopen IS NULL
       OR ev.last_survey >= ev.last_reopen) THEN ev.last_survey END AS survey,
  (SELECT coalesce(sum(minutes), 0) FROM time_entries m
   WHERE m.ticket_id = t.id AND m.at < :until) AS minutes,
  a.at AS answer_at, a.score
FROM scope s JOIN tickets t ON t.id = s.id
LEFT JOIN clients k ON k.id = t.client_id
LEFT JOIN ev ON ev.ticket_id = t.id
LEFT JOIN temp.first_res r ON r.ticket_id = t.id
LEFT JOIN (SELECT ticket_id, max(unixepoch(at)) AS at, score FROM csat_responses
           WHERE at < :until GROUP BY ticket_id) a ON a.ticket_id = t.id;
"""


def main() -> None:
    db = sqlite3.connect(sys.argv[1])
    since, until = sys.argv[2], sys.argv[3]
    params = {"since": since, "until": until}
    for statement in FACTS.split(";\n"):
        if statement.strip():
            db.execute(statement, params)
    start, end = (db.execute("SELECT unixepoch(?), unixepoch(?)", (since, until)).fetchone())
    w = {"s": start, "e": end}
    one = db.execute
    created = "created >= :s AND created < :e"
    resolved = "res >= :s AND res < :e"

    def median(expr: str, where: str) -> float | None:
        n = one(f"SELECT count(*) FROM facts WHERE {where}", w).fetchone()[0]
        if not n:
            return None
        values = [r[0] for r in one(f"SELECT {expr} AS v FROM facts WHERE {where} "
                                    f"ORDER BY v LIMIT {2 - n % 2} OFFSET {(n - 1) // 2}", w)]
        return sum(values) / len(values)

    volume = one(f"SELECT count(*) FROM facts WHERE {created}", w).fetchone()[0]
    n_resp, frt_sum, due, met = one(
        f"SELECT count(frt), sum(frt - created), "
        f"sum(frt IS NOT NULL OR created + response_target < :e), "
        f"sum(frt - created <= response_target) FROM facts WHERE {created}", w).fetchone()
    n_res, spent_sum, res_met, fcr, reopened, minutes = one(
        f"SELECT count(*), sum(res - created - paused), "
        f"sum(res - created - paused <= resolve_target), "
        f"sum(contacts <= 1 AND NOT waited AND NOT escalated AND NOT reopened), "
        f"sum(reopened), sum(minutes) FROM facts WHERE {resolved}", w).fetchone()
    escalated = one(f"SELECT sum(escalated) FROM facts WHERE {created}", w).fetchone()[0]
    answers, satisfied, score_sum = one(
        "SELECT count(*), sum(score >= 4), sum(score) FROM facts "
        "WHERE answer_at >= :s AND answer_at < :e", w).fetchone()
    sent, pending = one(
        "SELECT count(*), sum(answer_at IS NULL OR answer_at < survey) FROM facts "
        "WHERE survey >= :s AND survey < :e", w).fetchone()

    def share(part: int | None, whole: int | None) -> float | None:
        return 100.0 * (part or 0) / whole if whole else None

    rows = [
        ("volume", volume, "count", volume, volume),
        ("frt_median", median("frt - created", f"{created} AND frt IS NOT NULL"),
         "seconds", n_resp, volume),
        ("frt_mean", frt_sum / n_resp if n_resp else None, "seconds", n_resp, volume),
        ("response_sla", share(met, due), "percent", met or 0, due or 0),
        ("resolution_median", median("res - created - paused", resolved), "seconds",
         n_res, n_res),
        ("resolution_mean", spent_sum / n_res if n_res else None, "seconds", n_res, n_res),
        ("resolution_sla", share(res_met, n_res), "percent", res_met or 0, n_res),
        ("fcr", share(fcr, n_res), "percent", fcr or 0, n_res),
        ("escalation_rate", share(escalated, volume), "percent", escalated or 0, volume),
        ("reopen_rate", share(reopened, n_res), "percent", reopened or 0, n_res),
        ("time_logged", (minutes or 0) / n_res if n_res else None, "minutes", minutes or 0,
         n_res),
        ("csat", share(satisfied, answers), "percent", satisfied or 0, answers),
        ("csat_mean", score_sum / answers if answers else None, "score", answers, answers),
        ("surveys_pending", float(pending or 0), "count", pending or 0, sent),
    ]
    out = sys.stdout.write
    out("section\tgroup\tmetric\tvalue\tunit\tcount\ttotal\ttickets\n")
    for metric, value, unit, count, total in rows:
        out(f"metric\tall\t{metric}\t{raw(value)}\t{unit}\t{count}\t{total}\t\n")
    # Recurring categories and error codes of the tickets created in the window, the 20
    # newest tickets of each (in the order the report streams its tickets).
    for kind, keyed in (("category", categories(db, w)), ("error-code", codes(db, w))):
        ranked = sorted(((k, v) for k, v in keyed.items() if v[0] >= 3),
                        key=lambda item: (-item[1][0], item[0]))[:10]
        for key, (count, refs) in ranked:
            out(f"recurring-{kind}\tall\t{key}\t{count}\tcount\t{count}\t{volume}\t"
                f"{' '.join(refs)}\n")


def raw(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(round(value, 2))


def newest(db: sqlite3.Connection, where: str, params: dict[str, object]) -> list[str]:
    """The 20 newest refs matching ``where``, oldest first: tickets created in the window
    in the report's streaming order (by creation)."""
    refs = [f"#{r[0]}" for r in db.execute(
        f"SELECT t.number FROM facts f JOIN tickets t ON t.id = f.id "
        f"WHERE f.created >= :s AND f.created < :e AND {where} "
        f"ORDER BY t.created_at DESC, t.rowid DESC "
        f"LIMIT 20", params)]
    return refs[::-1]


def categories(db: sqlite3.Connection, w: dict[str, int]) -> dict[str, tuple[int, list[str]]]:
    return {cat: (n, newest(db, "f.category = :c", {**w, "c": cat})) for cat, n in db.execute(
        "SELECT category, count(*) FROM facts WHERE created >= :s AND created < :e "
        "AND category IS NOT NULL AND category != '' GROUP BY category", w)}


PATTERNS = (
    (re.compile(r"\b0x[0-9a-f]{4,8}\b", re.IGNORECASE), lambda m: "0x" + m.group(0)[2:].upper()),
    (re.compile(r"\bevent\s+id\s*:?\s*(\d{1,5})\b", re.IGNORECASE),
     lambda m: f"Event ID {int(m.group(1))}"),
    (re.compile(r"\berror\s+(?:code\s+)?(\d{2,6})\b", re.IGNORECASE),
     lambda m: f"Error {int(m.group(1))}"),
)


def codes(db: sqlite3.Connection, w: dict[str, int]) -> dict[str, tuple[int, list[str]]]:
    """Codes per distinct error text, then counted over the texts' ticket counts."""
    texts: dict[str, list[str]] = {}
    count: dict[str, int] = {}
    for text, n in db.execute("SELECT error_text, count(*) FROM facts WHERE created >= :s "
                              "AND created < :e AND error_text != '' GROUP BY error_text", w):
        found = dict.fromkeys(fmt(m) for pattern, fmt in PATTERNS
                              for m in pattern.finditer(text))
        for code in found:
            texts.setdefault(code, []).append(text)
            count[code] = count.get(code, 0) + n
    out = {}
    for code, with_code in texts.items():
        marks = ", ".join("?" for _ in with_code)
        refs = [f"#{r[0]}" for r in db.execute(
            f"SELECT t.number FROM facts f JOIN tickets t ON t.id = f.id "
            f"WHERE f.created >= ? AND f.created < ? AND f.error_text IN ({marks}) "
            f"ORDER BY t.created_at DESC, t.rowid DESC LIMIT 20",
            (w["s"], w["e"], *with_code))][::-1]
        out[code] = (count[code], refs)
    return out


if __name__ == "__main__":
    main()
