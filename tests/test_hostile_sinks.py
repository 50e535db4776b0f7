"""Hostile text × every sink it can reach (issue 15's proof).

A corpus of strings nobody here controls (every C0/C1 control, ESC/OSC/CSI/DCS sequences,
bidi overrides, lone surrogates, 10 KB strings, CSV-breaking and formula strings,
Slack/Markdown control syntax, RFC 2047 look-alikes) goes through each sink, and each
cell asserts two things: the sink's own parser reads the value back (csv, json, the email
parser with zero defects, tomllib), and no raw control byte reaches a terminal.

The CLI sinks run the real entry point once per format on a pseudo-terminal (``pty``),
over a store that already holds the whole corpus (written past the one-line rule, as an
old store or an old peer could have it), so the test stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskcli.cli import output
from deskcli.domain import kb_markdown, validation
from deskcli.domain.errors import InvalidInput
from deskcli.domain.inert import visible
from deskcli.domain.intake import NewTicket
from deskcli.domain.kb import ArticleDraft
from deskcli.notify.base import Outgoing
from deskcli.notify.chat import ChatSender
from deskcli.notify.email import SmtpSender, body_text, header_text
from deskcli.notify.opsgenie import OpsgenieSender
from deskcli.notify.pagerduty import PagerDutySender
from helpers import FakeClock, make_desk

# --- the corpus ------------------------------------------------------------------------

CONTROLS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]]
CORPUS: list[str] = [
    *(f"a{c}b" for c in CONTROLS),
    # terminal sequences: erase screen, window title, clipboard write, hyperlink, DCS,
    # colour, cursor moves, full reset, 8-bit CSI and OSC
    "\x1b[2J\x1b[H cleared", "\x1b]0;owned\x07 title", "\x1b]52;c;cHduZWQ=\x07 clip",
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "\x1bP+q544e\x1b\\ dcs",
    "\x1b[31mred\x1b[0m", "\x1b[10A\x1b[2K up", "\x1bc reset", "\x9b2J eight-bit",
    "\x9d0;title\x9c", "\x1b", "\x1b[", "\u0085NEL", "LS\u2028PS\u2029",
    # bidi overrides (Trojan Source), zero-width joiners, wide characters
    "invoice\u202efdp.exe", "\u2066isolate\u2069 \u202aembed\u202c \u202doverride\u202c",
    "👩\u200d💻 字化け ＷＩＤＥ", "e\u0301 combining",
    # lone surrogates (not characters at all)
    "\ud800", "x\udfffy", "a\udc80b",
    # 10 KB
    "A" * 10_240, "é" * 5_000, "字" * 4_000, ("\x1b[2J" + "x" * 200) * 40,
    # CSV breakers and spreadsheet formulas
    "a,b", 'a"b', '"', '""quoted""', "a\r\nb", "\r", "a\rb", "\n", " padded ",
    "=1+1", "+1", "-1", "@SUM(A1:A9)", "\t=1", "\r=1", '=HYPERLINK("http://evil","x")',
    "=cmd|' /C calc'!A0",
    # chat and Markdown control syntax
    "<!channel> urgent", "<!here>", "<@U0123ABC>", "<https://evil.example|Click here>",
    "*bold* _it_ ~strike~ `code`", "[docs](https://evil.example)", "# heading",
    "&amp; &lt;b&gt;", "<b>bold</b><script>alert(1)</script>", "\\*not bold\\*",
    # RFC 2047 and header look-alikes
    "=?utf-8?b?SGkgdGhlcmU=?=", "=?UTF-8?Q?=0D=0ABcc:_victim@example.org?=",
    "x\r\nBcc: victim@example.org", "Subject: forged", "line\n\nbody-injection",
    "+++", "---", "title = \"x\"",
]
IDS = [f"{i:03d}-{ascii(s)[:24]}" for i, s in enumerate(CORPUS)]
#: SQLite stores UTF-8: a lone surrogate cannot be stored at all (the input rules refuse
#: it by name, tested below), so the store-backed sinks take the rest.
STORABLE = [s for s in CORPUS if not re.search("[\ud800-\udfff]", s)]

#: Any byte a terminal could act on: C0 (bar the layout tab/newline), DEL and C1 (as
#: UTF-8 they are \xc2\x80..\xc2\x9f).
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def no_raw_control(data: bytes, *, allow_sgr: bool = False) -> None:
    if allow_sgr:
        data = SGR.sub(b"", data)
    found = RAW_CONTROL.search(data)
    assert found is None, f"raw control {found.group(0)!r} near {data[max(0, found.start() - 30):found.end() + 30]!r}"  # noqa: E501


# --- input: the one-line rule ------------------------------------------------------------


def test_one_line_fields_refuse_what_no_line_may_hold() -> None:
    for value in CORPUS:
        bad = [ch for ch in value.strip() if validation.forbidden_in_line(ch)]
        if bad:
            with pytest.raises(InvalidInput) as refused:
                NewTicket.from_mapping({"summary": value[:200]})
            assert refused.value.field == "summary", ascii(value)
            assert "U+" in refused.value.message, ascii(value)  # the character is named
            with pytest.raises(InvalidInput):
                validation.check_one_line("caller", value)
        elif value.strip() and len(value.strip()) <= validation.SUMMARY_MAX:
            assert NewTicket.from_mapping({"summary": value}).summary == value.strip()


# --- the CLI on a terminal and into a pipe ------------------------------------------------


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store holding the corpus as summaries and client names (``VALUE Ltd INDEX``),
    in corpus order."""
    home = tmp_path_factory.mktemp("hostile-home")
    os.environ.setdefault("DESKCLI_TECH", "dana")
    previous = os.environ.get("DESKCLI_HOME")
    os.environ["DESKCLI_HOME"] = str(home)
    try:
        with make_desk(home, FakeClock()) as desk:
            for index, value in enumerate(STORABLE):
                row = desk.tickets.create(NewTicket(summary=f"placeholder {index}",
                                                    client=f"Client {index}"))
                with desk.store.transaction():
                    desk.store.db.execute("UPDATE tickets SET summary = ? WHERE id = ?",
                                           (value, row["id"]))
                    desk.store.db.execute("UPDATE clients SET name = ? WHERE id = ?",
                                           (f"{value} Ltd {index}", row["client_id"]))
    finally:
        if previous is None:
            os.environ.pop("DESKCLI_HOME", None)
        else:
            os.environ["DESKCLI_HOME"] = previous
    yield home


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DESKCLI_HOME": str(home), "DESKCLI_TECH": "dana",
           "PYTHONIOENCODING": "utf-8", "TERM": "xterm-256color", "COLUMNS": "200",
           "LINES": "50", "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("NO_COLOR", None)
    return env


def on_terminal(home: Path, *args: str) -> bytes:
    """Run deskcli with stdout on a pseudo-terminal (raw mode: no CRLF translation)."""
    import pty
    import tty

    main, child = pty.openpty()
    tty.setraw(child)
    process = subprocess.Popen([sys.executable, "-m", "deskcli", *args], stdout=child,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env=_env(home))
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode(errors="replace")
    no_raw_control(err)
    return b"".join(chunks)


def into_pipe(home: Path, *args: str) -> bytes:
    done = subprocess.run([sys.executable, "-m", "deskcli", *args], capture_output=True,
                          env=_env(home), timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


QUEUE = ("queue", "--all", "--fields", "number,client,summary")


@pytest.mark.parametrize(("fmt", "color"), [
    ("table", "never"), ("table", "always"), ("tsv", "never"), ("csv", "auto")])
def test_text_formats_on_a_terminal_show_every_value_inert(
        hostile_home: Path, fmt: str, color: str) -> None:
    shown = on_terminal(hostile_home, "--color", color, *QUEUE, "--format", fmt)
    no_raw_control(shown, allow_sgr=color == "always")
    text = shown.decode()
    assert "␛[2J" in text  # shown, not obeyed
    if fmt != "table":  # full values (a table cuts long ones with an ellipsis)
        lines = [line for line in text.splitlines()[1:] if line]
        assert len(lines) == len(STORABLE)
        if fmt == "csv":
            fields = [row[2] for row in csv.reader(lines)]
            assert fields == [visible(value) for value in STORABLE]
        else:
            for line, value in zip(lines, STORABLE, strict=True):
                assert line.split("\t")[2] == visible(
                    value.translate({9: " ", 10: " ", 13: " "}))


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_on_a_terminal_is_inert_and_reads_back_exactly(hostile_home: Path,
                                                            fmt: str) -> None:
    shown = on_terminal(hostile_home, *QUEUE, "--format", fmt)
    no_raw_control(shown)
    text = shown.decode()
    rows = json.loads(text) if fmt == "json" else [json.loads(x) for x in text.splitlines()]
    assert [r["summary"] for r in rows] == STORABLE
    assert [r["client"] for r in rows] == [f"{v} Ltd {i}" for i, v in enumerate(STORABLE)]


def test_csv_into_a_pipe_reads_back_exactly_with_one_record_per_ticket(
        hostile_home: Path) -> None:
    data = into_pipe(hostile_home, *QUEUE, "--format", "csv")
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows[0] == ["number", "client", "summary"]
    assert [r[2] for r in rows[1:]] == STORABLE
    # A bare CR is quoted, so a reader that splits lines on CR counts the same records.
    assert len(list(csv.reader(data.decode().splitlines()))) >= len(rows)
    for record in data.decode().split("\n"):
        assert "\r" not in record or record.count('"') % 2 == 1 or '"' in record


def test_csv_safe_defuses_formulas_and_keeps_everything_else(hostile_home: Path) -> None:
    data = into_pipe(hostile_home, *QUEUE, "--format", "csv", "--csv-safe")
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))[1:]
    for row, value in zip(rows, STORABLE, strict=True):
        if value.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert row[2] == "'" + value
        else:
            assert row[2] == value


def test_tsv_into_a_pipe_keeps_one_line_and_three_columns_per_ticket(
        hostile_home: Path) -> None:
    data = into_pipe(hostile_home, *QUEUE, "--format", "tsv").decode()
    lines = data.split("\n")[1:-1]
    assert len(lines) == len(STORABLE)
    assert all(line.count("\t") == 2 for line in lines)


def test_csv_reads_back_with_csvkit(hostile_home: Path, tmp_path: Path) -> None:
    """What a user's tool makes of the file: csvkit's csvjson, as a separate program."""
    csvjson = shutil.which("csvjson") or str(Path(sys.executable).with_name("csvjson"))
    if not Path(csvjson).exists():
        pytest.skip("csvkit is not installed (pip install csvkit, in the test extra)")
    path = tmp_path / "tickets.csv"
    path.write_bytes(into_pipe(hostile_home, *QUEUE, "--format", "csv"))
    done = subprocess.run([csvjson, "--no-inference", "--snifflimit", "0", str(path)],
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    rows = json.loads(done.stdout)
    assert len(rows) == len(STORABLE)
    # csvkit (agate) strips surrounding whitespace, reads empty as null, drops NUL bytes
    # and reads the file with universal newlines (a CR inside a quoted value comes back
    # as LF); otherwise every value comes back exactly, one record per ticket.
    for row, value in zip(rows, STORABLE, strict=True):
        expected = value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
        assert (row["summary"] or "").strip() == expected.strip()


# --- direct sinks: JSON, CSV and TSV writers, the console ---------------------------------


def test_json_writer_escapes_every_control_and_round_trips() -> None:
    for value in CORPUS:
        document = output.dumps({"summary": value})
        assert json.loads(document) == {"summary": value}, ascii(value)
        no_raw_control(document.encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xDFFF, exclude_categories=()),
               max_size=80))
def test_any_text_is_inert_shown_and_round_trips_as_json(value: str) -> None:
    """Beyond the corpus: any text, including every control and lone surrogates."""
    for multiline in (False, True):
        shown = visible(value, multiline=multiline)
        no_raw_control(shown.encode("utf-8").replace(b"\t", b"").replace(b"\n", b""))
        assert not re.search("[\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]", shown)
    document = output.dumps([value])
    assert json.loads(document) == [value]
    no_raw_control(document.encode("utf-8"))


def test_csv_writer_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    output.write_rows([(i, value, "end") for i, value in enumerate(STORABLE)],
                      ["n", "v", "z"], output.Format.CSV)
    written = capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(written, newline="")))
    assert rows[0] == ["n", "v", "z"]
    assert rows[1:] == [[str(i), value, "end"] for i, value in enumerate(STORABLE)]
    # Every field holding any kind of line break is quoted (csvkit, DuckDB and
    # spreadsheets also end a row on a bare CR).
    for value in STORABLE:
        if any(ch in value for ch in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
            assert '"' + value.replace('"', '""') + '"' in written, ascii(value)


def test_console_text_is_visible_and_inert() -> None:
    """What the console's queue and ticket header show, and the guard every line of the
    console passes through (``widgets.inert``)."""
    from rich.console import Console
    from rich.segment import Segment
    from textual.strip import Strip

    from deskcli.tui.widgets import inert

    inert.install()
    console = Console(color_system=None, force_terminal=True)
    for value in CORPUS:
        shown = visible(value)
        no_raw_control(shown.encode("utf-8", "surrogatepass"))
        for text in (shown, value):
            rendered = Strip([Segment(text)]).render(console)
            no_raw_control(rendered.encode("utf-8", "surrogatepass"))


# --- chat and pagers -------------------------------------------------------------------------


def _message(purpose: str, **payload: object) -> Outgoing:
    return Outgoing(key="deskcli-t-page-pd-1", purpose=purpose, ticket_ref="#1001",
                    ticket_id="t", payload=payload, recipient="ana@example.org")


def _wire(body: object) -> object:
    """What goes over the wire (the adapters' own json.dumps) and what the receiver reads."""
    data = json.dumps(body).encode()
    no_raw_control(data)
    return json.loads(data)


def test_slack_and_teams_payloads_read_back_with_no_mention_or_link() -> None:
    slack = ChatSender("c", kind="slack", webhook_url="http://127.0.0.1/x", timeout=1)
    teams = ChatSender("c", kind="teams", webhook_url="http://127.0.0.1/x", timeout=1)
    for value in CORPUS:
        text = f"P1 incident #1001: {value}"
        sent = _wire(slack.body(_message("chat", text=text)))["text"]  # type: ignore[index]
        assert "<" not in sent and ">" not in sent, ascii(value)  # no <!channel>, <url|x>
        assert sent.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text
        shown = _wire(teams.body(_message("chat", text=text)))["text"]  # type: ignore[index]
        assert "<" not in shown and ">" not in shown, ascii(value)
        unescaped = re.sub(r"\\(.)", r"\1", shown, flags=re.S)
        assert unescaped.replace("&lt;", "<").replace("&gt;", ">").replace(
            "&amp;", "&") == text, ascii(value)
    slack.close()
    teams.close()


def test_pager_payloads_read_back() -> None:
    pd = PagerDutySender("pd", url="http://127.0.0.1", routing_key="k", source="deskcli",
                         timeout=1)
    og = OpsgenieSender("og", url="http://127.0.0.1", api_key="k", timeout=1)
    for value in CORPUS:
        summary = f"#1001 P1: {value}"
        details = {"caller": value, "client": value}
        body = _wire(pd.body(_message("page", summary=summary, severity="critical",
                                      details=details)))
        assert body["payload"]["summary"] == summary[:1024], ascii(value)  # type: ignore[index]
        assert body["payload"]["custom_details"] == details  # type: ignore[index]
        _url, alert = og.request(_message("page", summary=summary, description=value,
                                          details=details))
        got = _wire(alert)
        assert got["message"] == summary[:130], ascii(value)  # type: ignore[index]
        assert got["description"] == value[:15000]  # type: ignore[index]
        assert got["details"] == details  # type: ignore[index]
    pd.close()
    og.close()


# --- email ------------------------------------------------------------------------------


def test_email_headers_and_body_parse_back_with_zero_defects() -> None:
    sender = SmtpSender("mail", host="127.0.0.1", port=25, sender="desk@example.org",
                        starttls=False, username=None, password=None, timeout=1)
    expected_headers = {"From", "To", "Subject", "Message-ID", "Date", "In-Reply-To",
                        "References", "X-Deskcli-Ticket", "Auto-Submitted", "Content-Type",
                        "Content-Transfer-Encoding", "MIME-Version"}
    for value in CORPUS:
        subject = f"[#1001] {value}"
        mail = sender.build(_message("acknowledgement", subject=subject, body=value + "\n"))
        raw = mail.as_bytes()
        parsed = message_from_bytes(raw, policy=default_policy)
        assert not parsed.defects, ascii(value)
        for name in parsed.keys():
            assert not getattr(parsed[name], "defects", ()), (name, ascii(value))
        assert set(parsed.keys()) == expected_headers, ascii(value)  # none injected
        # The subject reads back as the clean one-line text it was built from (an RFC
        # 2047 look-alike included: it is not decoded into something else).
        assert parsed["Subject"] == header_text(subject), ascii(value)
        assert parsed["To"] == "ana@example.org"
        no_raw_control(str(parsed["Subject"]).encode())
        content = parsed.get_content().replace("\r\n", "\n")
        assert content == body_text(value + "\n"), ascii(value)
        no_raw_control(content.encode("utf-8", "surrogatepass"))


# --- KB Markdown export and re-import ------------------------------------------------------


def test_kb_markdown_export_reads_back_with_tomllib_and_parse() -> None:
    """Titles, clients, products and bodies (titles and clients are stored stripped)."""
    for value in CORPUS:
        draft = ArticleDraft(title=value, body=f"Steps\n{value}\nDone", tags=["vdi"],
                             products=[value.replace(",", "")] if value.strip(", ") else [],
                             client=value, id="3f9a1c2e")
        text = kb_markdown.render(draft)
        front = text.split("\n+++\n", 1)[0].removeprefix("+++\n")
        data = tomllib.loads(front)
        assert data["title"] == value and data["client"] == value, ascii(value)
        assert data["products"] == draft.products, ascii(value)
        if not value.strip():
            continue  # a title that is only blanks is refused at input: none is stored
        back = kb_markdown.parse(text, "export.md")
        assert back.title == value.strip(), ascii(value)
        assert back.client == (value or None), ascii(value)
        stripped = [p.strip() for p in draft.products if p.strip()]  # as the store keeps them
        assert back.products == stripped and back.tags == ["vdi"], ascii(value)
        # A CRLF in a body is a line break in a text file: it reads back as LF.
        assert back.body == draft.body.replace("\r\n", "\n").strip("\n"), ascii(value)
