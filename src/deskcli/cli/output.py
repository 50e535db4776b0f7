"""The one output helper every listing command uses: rows in, formatted data out on stdout.

Rows arrive as tuples from a generator and leave as soon as they are formatted, so a
100,000-ticket listing never sits in memory (except in ``table``, which has to measure its
columns first and is meant for a screenful). Rich is imported only for ``table``: the
piped formats must start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from deskcli.domain.errors import InvalidInput
from deskcli.domain.inert import json_inert, visible


class Format(StrEnum):
    """Output formats; ``table`` for people, the rest for programs."""

    TABLE = "table"
    TSV = "tsv"
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"


if TYPE_CHECKING:
    from typing import Annotated

    import typer

    FormatOption = Annotated[Format | None, typer.Option()]
    HeaderOption = Annotated[bool, typer.Option()]
    CsvSafeOption = Annotated[bool, typer.Option()]


def __getattr__(name: str) -> Any:
    """``FormatOption``, ``HeaderOption`` and ``CsvSafeOption``: the ``--format``,
    ``--header`` and ``--csv-safe`` options of every listing command, declared once so
    their help and defaults read the same everywhere. Built on first use, by the modules
    that declare commands for Typer: writing output must not load Typer (the short
    commands' fast path runs without it)."""
    if name not in ("FormatOption", "HeaderOption", "CsvSafeOption"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from typing import Annotated

    import typer

    options = {
        "FormatOption": Annotated[Format | None, typer.Option(
            "--format", "-f", case_sensitive=False,
            help="Output format. Default: table on a terminal, tsv when piped.",
            show_default=False)],
        "HeaderOption": Annotated[bool, typer.Option(
            "--header/--no-header", help="Print the header line (tsv, csv, table).")],
        "CsvSafeOption": Annotated[bool, typer.Option(
            "--csv-safe", help="With --format csv: prefix values starting with = + - @ "
            "(or a tab or CR) with ' so a spreadsheet shows them as text instead of "
            "running a formula.")],
    }
    globals().update(options)
    return options[name]


class ColorMode(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


#: Set once per run by the root ``--color`` option.
color_mode: ColorMode = ColorMode.AUTO

#: Rows are written in chunks of this many lines: few syscalls, little memory.
CHUNK = 2000


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def use_color() -> bool:
    """Colour only for a person at a terminal who has not opted out (no-color.org)."""
    if color_mode is ColorMode.ALWAYS:
        return True
    if color_mode is ColorMode.NEVER or os.environ.get("NO_COLOR"):
        return False
    return stdout_is_terminal() and os.environ.get("TERM") != "dumb"


def pick_format(requested: Format | None) -> Format:
    """A table on a terminal, TSV into a pipe, unless the caller said otherwise."""
    if requested is not None:
        return requested
    return Format.TABLE if stdout_is_terminal() else Format.TSV


def parse_fields(text: str | None, available: Sequence[str],
                 default: Sequence[str]) -> list[str]:
    """``--fields a,b,c`` checked against the documented keys, order kept as given."""
    if text is None:
        return list(default)
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if not chosen:
        raise InvalidInput("--fields is empty: name at least one field", field="fields")
    for name in chosen:
        if name not in available:
            raise InvalidInput(f"unknown field {name!r}; fields are: {', '.join(available)}",
                               field="fields")
    return chosen


def check_header_option(fmt: Format, header: bool, csv_safe: bool = False) -> None:
    if not header and fmt in (Format.JSON, Format.JSONL):
        raise InvalidInput("--no-header applies to tsv, csv and table output, not "
                           f"{fmt.value}", field="no_header")
    if csv_safe and fmt is not Format.CSV:
        raise InvalidInput(f"--csv-safe applies to --format csv only, not {fmt.value}",
                           field="csv_safe")


def write_rows(rows: Iterable[Sequence[Any]], keys: Sequence[str], fmt: Format, *,
               header: bool = True, labels: Mapping[str, str] | None = None,
               style: Callable[[str, Any], str | None] | None = None,
               fixed: Collection[str] = (), csv_safe: bool = False) -> int:
    """Write ``rows`` (values in ``keys`` order) to stdout; returns how many were written.

    A reader that goes away early (``| head``) is not an error: output stops quietly.
    """
    try:
        if fmt is Format.TSV:
            count = _tsv(rows, keys, header)
        elif fmt is Format.CSV:
            count = _csv(rows, keys, header, csv_safe)
        elif fmt is Format.JSON:
            count = _json(rows, keys)
        elif fmt is Format.JSONL:
            count = _jsonl(rows, keys)
        else:
            count = _table(rows, keys, header, labels or {}, style, fixed)
        sys.stdout.flush()
    except BrokenPipeError:
        stop_quietly()
    return count


def write_text(text: str) -> None:
    """Data that is not rows (a ticket number, a JSON document), with the same pipe care.

    On a terminal, control characters from stored text are shown as inert stand-ins
    (``inert.visible``); into a pipe the text goes unchanged."""
    if stdout_is_terminal():
        text = visible(text, multiline=True)
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        stop_quietly()


def stop_quietly() -> None:
    """The reader closed the pipe: point stdout at /dev/null so the final flush at exit
    cannot raise again, and end successfully (the reader got what it wanted)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    import typer

    raise typer.Exit(0)


def dumps(value: Any) -> str:
    """JSON as UTF-8 text with every control character escaped (C0 by ``json`` itself,
    C1, DEL, LS/PS, bidi controls and lone surrogates by ``json_inert``): valid JSON that
    reads back to the same values and is inert on a terminal."""
    import json  # loaded by the JSON formats, not by a TSV queue or a ticket as text

    return json_inert(json.dumps(value, ensure_ascii=False))


# --- the formats --------------------------------------------------------------------

_TSV_UNSAFE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def _tsv_value(value: Any) -> str:
    return "" if value is None else str(value).translate(_TSV_UNSAFE)


def _tsv(rows: Iterable[Sequence[Any]], keys: Sequence[str], header: bool) -> int:
    """Tab-separated, one row per line, empty for null; tabs and newlines inside a value
    become spaces so ``cut`` and ``awk -F'\\t'`` always see the right columns. On a
    terminal every control character is shown as an inert stand-in as well."""
    write = sys.stdout.write
    if header:
        write("\t".join(keys) + "\n")
    tabs = len(keys) - 1
    terminal = stdout_is_terminal()
    lines: list[str] = []
    count = 0
    for row in rows:
        line = "\t".join(["" if v is None else str(v) for v in row])
        if line.count("\t") != tabs or "\n" in line or "\r" in line:
            line = "\t".join([_tsv_value(v) for v in row])
        if terminal:
            line = "\t".join(visible(part) for part in line.split("\t"))
        lines.append(line)
        if len(lines) == CHUNK:
            write("\n".join(lines) + "\n")
            count += CHUNK
            lines.clear()
    if lines:
        write("\n".join(lines) + "\n")
        count += len(lines)
    return count


#: Characters that end a line for some CSV reader: a field holding one is quoted (the
#: ``csv`` module quotes only ``\n`` when the line ends in ``\n``, but csvkit, DuckDB and
#: spreadsheets also break rows on a bare ``\r``).
_CSV_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
#: What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, *, safe: bool = False) -> str:
    """One CSV value as text: null is empty; with ``safe``, a value a spreadsheet would
    run as a formula gets a leading ``'`` (shown as text, the ``'`` hidden)."""
    text = "" if value is None else str(value)
    if safe and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv(rows: Iterable[Sequence[Any]], keys: Sequence[str], header: bool,
         safe: bool = False) -> int:
    """RFC 4180 CSV (the ``csv`` module's quoting), null as an empty field; any field
    holding a line break of any kind is quoted, so every reader counts the same rows.
    On a terminal (nobody's file) control characters are shown as inert stand-ins."""
    import csv  # loaded by this format only

    writer = csv.writer(sys.stdout, lineterminator="\n")
    quoted = csv.writer(sys.stdout, lineterminator="\n", quoting=csv.QUOTE_ALL)
    terminal = stdout_is_terminal()
    if header:
        writer.writerow(keys)
    count = 0
    for row in rows:
        cells = [csv_cell(value, safe=safe) for value in row]
        if terminal:
            cells = [visible(cell) for cell in cells]
        if any(not _CSV_BREAKS.isdisjoint(cell) for cell in cells):
            quoted.writerow(cells)
        else:
            writer.writerow(cells)
        count += 1
    return count


def _json(rows: Iterable[Sequence[Any]], keys: Sequence[str]) -> int:
    """One JSON array, written element by element so it streams like the other formats."""
    write = sys.stdout.write
    count = 0
    for row in rows:
        write(("[\n" if count == 0 else ",\n") + dumps(dict(zip(keys, row, strict=True))))
        count += 1
    write("[]\n" if count == 0 else "\n]\n")
    return count


def _jsonl(rows: Iterable[Sequence[Any]], keys: Sequence[str]) -> int:
    write = sys.stdout.write
    count = 0
    for row in rows:
        write(dumps(dict(zip(keys, row, strict=True))) + "\n")
        count += 1
    return count


def fit_widths(natural: Sequence[int], fixed: Sequence[bool], room: int,
               floor: int = 6) -> list[int]:
    """Column widths that fit ``room``: the widest free-text column gives way first, one
    character at a time; ``fixed`` columns (numbers, codes) are never cut."""
    widths = list(natural)
    gaps = 2 * (len(widths) - 1)
    while sum(widths) + gaps > room:
        candidates = [i for i, w in enumerate(widths) if not fixed[i] and w > floor]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _table(rows: Iterable[Sequence[Any]], keys: Sequence[str], header: bool,
           labels: Mapping[str, str], style: Callable[[str, Any], str | None] | None,
           fixed: Collection[str]) -> int:
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    color = use_color()
    console = Console(no_color=not color, highlight=False, soft_wrap=False,
                      force_terminal=True if color else None)
    titles = [labels.get(key, key) for key in keys]
    # Stored text is shown inert (ESC as ␛ and so on) and measured in terminal cells, so
    # a CJK or emoji summary gets the columns it really needs.
    cells = [["" if value is None else visible(str(value)) for value in row] for row in rows]
    natural = [max([cell_len(title) if header else 1, *(cell_len(row[i]) for row in cells)])
               for i, title in enumerate(titles)]
    widths = fit_widths(natural, [key in fixed for key in keys], console.width)
    table = Table(show_header=header, header_style="bold" if color else "", box=None,
                  pad_edge=False, show_edge=False)
    for title, width in zip(titles, widths, strict=True):
        # One line per row: text that does not fit is cut with an ellipsis, not wrapped.
        table.add_column(title, width=width, no_wrap=True, overflow="ellipsis")
    for texts in cells:
        table.add_row(*(Text(text, style=(style(key, text) if style and color else None) or "")
                        for key, text in zip(keys, texts, strict=True)))
    console.print(table)
    return len(cells)
