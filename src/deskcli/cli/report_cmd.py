"""``deskcli report`` (the service-desk metrics over a window) and ``deskcli csat`` (a
caller's satisfaction survey answer).

The numbers come from ``services.metrics.build_report``, the same call the dashboard
makes; this module only lays them out. Piped formats carry raw values (seconds,
percentages) with their unit, so scripts never parse ``1h05m``.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

import typer

from deskcli.domain import metrics

from . import output
from .exits import say
from .output import Format
from .params import Ref, opt, ref_of
from .session import open_cli_desk


class ReportFormat(StrEnum):
    TABLE = "table"
    TSV = "tsv"
    CSV = "csv"
    JSON = "json"


#: Columns of the tsv/csv stream: one schema for metric rows and recurring-issue rows.
KEYS = ("section", "group", "metric", "value", "unit", "count", "total", "tickets")
TABLE_KEYS = ("group", "metric", "value", "count", "total")
RECURRING_KEYS = ("kind", "key", "count", "tickets")
LABELS = {"group": "Group", "metric": "Metric", "value": "Value", "count": "Count",
          "total": "Of", "kind": "Recurring", "key": "What", "tickets": "Tickets"}
#: Tickets listed per recurring issue in a table, and in tsv/csv (the newest ones; the
#: count column has the full number). The json output lists them all.
SHOWN_REFS = 8
STREAMED_REFS = 20


def _raw(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 2)


def _groups(report: metrics.Report) -> list[tuple[str, metrics.Tally]]:
    """The groups, then the whole window as ``all`` when there is more than one group."""
    if report.by is metrics.GroupBy.NONE:
        return [(metrics.ALL, report.total)]
    return [*report.groups.items(), (metrics.ALL, report.total)]


def _recurring(report: metrics.Report) -> list[tuple[str, metrics.Recurring]]:
    return ([("category", r) for r in report.categories]
            + [("error-code", r) for r in report.error_codes])


def _stream_rows(report: metrics.Report) -> Iterator[tuple[Any, ...]]:
    for group, tally in _groups(report):
        for figure in metrics.figures(tally):
            yield ("metric", group, figure.metric, _raw(figure.value), figure.unit,
                   figure.count, figure.total, "")
    for kind, item in _recurring(report):
        yield (f"recurring-{kind}", metrics.ALL, item.key, item.count, "count", item.count,
               len(report.total.created), " ".join(item.refs[-STREAMED_REFS:]))


def _json_document(report: metrics.Report) -> dict[str, Any]:
    def figures(tally: metrics.Tally) -> dict[str, Any]:
        return {f.metric: {"value": _raw(f.value), "unit": f.unit, "count": f.count,
                           "total": f.total, "label": metrics.LABELS[f.metric]}
                for f in metrics.figures(tally)}

    return {
        "since": report.window.since.isoformat().replace("+00:00", "Z"),
        "until": report.window.until.isoformat().replace("+00:00", "Z"),
        "by": report.by.value,
        "groups": [{"group": group, "metrics": figures(tally)}
                   for group, tally in report.groups.items()]
        if report.by is not metrics.GroupBy.NONE else [],
        "total": figures(report.total),
        "recurring": {
            "categories": [{"key": r.key, "count": r.count, "tickets": list(r.refs)}
                           for r in report.categories],
            "error_codes": [{"key": r.key, "count": r.count, "tickets": list(r.refs)}
                            for r in report.error_codes],
        },
    }


def _write_tables(report: metrics.Report) -> None:
    rows = [(group, metrics.LABELS[f.metric], metrics.format_value(f), f.count, f.total)
            for group, tally in _groups(report) for f in metrics.figures(tally)]
    say(f"Metrics from {report.window.since:%Y-%m-%d %H:%M} to "
        f"{report.window.until:%Y-%m-%d %H:%M} UTC"
        + ("" if report.by is metrics.GroupBy.NONE else f", by {report.by.value}"))
    output.write_rows(rows, TABLE_KEYS, Format.TABLE, labels=LABELS,
                      fixed={"value", "count", "total", "group"})
    recurring = [(kind, item.key, item.count,
                  " ".join(item.refs[-SHOWN_REFS:])
                  + (f" (+{item.count - SHOWN_REFS} more)" if item.count > SHOWN_REFS else ""))
                 for kind, item in _recurring(report)]
    if recurring:
        output.write_text("")
        output.write_rows(recurring, RECURRING_KEYS, Format.TABLE, labels=LABELS,
                          fixed={"kind", "count"})
    else:
        say("no category or error code came up three times in this window")


def report(
    since: Annotated[str | None, opt(
        "Start of the window: a length of time back, at least a day (30d, 12w, 6mo) or "
        "a date (2026-01-31, start of that day UTC). Default: 30d.", metavar="30d|DATE")] = None,
    until: Annotated[str | None, opt(
        "End of the window, exclusive: a date. Default: now.", metavar="DATE")] = None,
    by: Annotated[str | None, opt(
        "Group the figures by priority, type, client, tech, category or week.",
        metavar="FIELD")] = None,
    fmt: Annotated[ReportFormat | None, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="Output format. Default: table on a terminal, tsv when piped.",
        show_default=False)] = None,
    top: Annotated[int, typer.Option(
        "--top", min=1, max=100, metavar="N",
        help="How many recurring categories and error codes to list.")] = 10,
    csv_safe: output.CsvSafeOption = False,
) -> None:
    """Report the service-desk metrics over a window.

    First response time, resolution time (minus paused time), first contact resolution,
    volume, escalation and reopen rates, CSAT, SLA compliance and time logged, each with
    the counts behind it; then the categories and error codes that came up at least three
    times, with their tickets. Definitions: docs/metrics.md.

    Examples:

    \b
      deskcli report                           # the last 30 days
      deskcli report --since 12w --by week     # a weekly trend
      deskcli report --since 2026-01-01 --until 2026-04-01 --by client --format csv
      deskcli report --format json | jq '.total.fcr.value'
    """
    from deskcli.services.metrics import build_report

    chosen = Format(output.pick_format(Format(fmt.value) if fmt else None).value)
    if chosen is Format.JSONL:
        chosen = Format.TSV
    output.check_header_option(chosen, True, csv_safe)
    group_by = metrics.GroupBy.parse(by)
    with open_cli_desk() as desk:
        window = metrics.parse_window(since, until, desk.now())
        # Printed figures show counts, never the tickets behind them: not keeping those
        # holds a million-ticket report in a fraction of the memory.
        # Nor all the tickets behind a recurring issue, but in json, which lists them.
        result = build_report(desk.store, desk.config.sla, window, group_by, top=top,
                              refs=False, recurring_refs=None if chosen is Format.JSON
                              else STREAMED_REFS)
    if chosen is Format.JSON:
        output.write_text(output.dumps(_json_document(result)))
    elif chosen is Format.TABLE:
        _write_tables(result)
    else:
        output.write_rows(_stream_rows(result), KEYS, chosen, csv_safe=csv_safe)


def csat(
    ref: Ref,
    score: Annotated[str, typer.Argument(metavar="SCORE", show_default=False,
                                         help="The caller's rating: 1 (very unhappy) to "
                                         "5 (very happy).")],
    comment: Annotated[str | None, opt("What the caller said, in their words.")] = None,
) -> None:
    """Record a caller's satisfaction survey answer.

    Only for a resolved or closed ticket, once per resolution: a second answer is refused
    (answers are never replaced). After a reopen and a new resolution, a new answer is
    taken. The answer syncs to the team like a note.

    Examples:

    \b
      deskcli csat 4521 5
      deskcli csat 4521 2 --comment "Fixed, but it took three calls"
    """
    with open_cli_desk() as desk:
        row = desk.tickets.record_csat(ref, score, comment)
    say(f"{ref_of(row)}: survey answer {score.strip()}/5 recorded")
