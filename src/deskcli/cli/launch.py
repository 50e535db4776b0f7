"""``deskcli``'s entry point: the short commands without Typer, everything else with it.

Loading Typer and click costs about three times a bare ``python -c "import sqlite3"``,
more than the work of ``queue``, ``show``, ``note``, ``new`` or ``kb search`` itself
(issue 20). So ``run`` first tries to read the command line itself, from the table of
those commands' options below, and calls the command's work (``quick.py``) with exactly
the values Typer would pass. It reads a command line only when there is no doubt how
click would read it: the options are the command's own, spelled in full, each value is
one a plain string, integer or choice accepts, and the arguments fill the command's
arguments exactly. Anything else (``--help``, an unknown or abbreviated option, a
missing value, a bad choice, ``--``, clustered short flags, root options, shell
completion, ``--from``, several tickets) goes to Typer, which gives its usual help and
errors. ``tests/cli/test_fast_path.py`` checks the table against the Typer declarations
and that both paths pass the same values.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: Option kinds in ``FAST``: a string value, a repeatable string, an integer (with its
#: least value), a choice (an enum of ``quick``), or a flag.
STR, MANY, INT, INT1, FLAG = "str", "many", "int", "int>=1", "flag"

#: Per command (as typed: ``kb search`` is two words): its options, each spelling →
#: (parameter, kind, value for a flag), its positional parameters, and the defaults of
#: the parameters no option set. Typer's own declarations are the truth; the test named
#: above fails when this table disagrees with them.
FAST: dict[str, dict[str, Any]] = {
    "queue": {
        "options": {
            "--status": ("status", MANY), "-s": ("status", MANY),
            "--priority": ("priority", MANY), "-p": ("priority", MANY),
            "--type": ("ticket_type", MANY), "-t": ("ticket_type", MANY),
            "--client": ("client", STR), "--assignee": ("assignee", STR),
            "--tag": ("tag", MANY),
            "--mine": ("mine", FLAG, True), "--at-risk": ("at_risk", FLAG, True),
            "--breached": ("breached", FLAG, True),
            "--all": ("show_all", FLAG, True), "-a": ("show_all", FLAG, True),
            "--limit": ("limit", INT1), "-n": ("limit", INT1),
            "--format": ("fmt", "QueueFormat"), "-f": ("fmt", "QueueFormat"),
            "--fields": ("fields", STR),
            "--header": ("header", FLAG, True), "--no-header": ("header", FLAG, False),
            "--csv-safe": ("csv_safe", FLAG, True),
        },
        "arguments": (),
        "defaults": {"status": None, "priority": None, "ticket_type": None, "client": None,
                     "assignee": None, "tag": None, "mine": False, "at_risk": False,
                     "breached": False, "show_all": False, "limit": None, "fmt": None,
                     "fields": None, "header": True, "csv_safe": False},
    },
    "show": {
        "options": {"--format": ("fmt", "ShowFormat"), "-f": ("fmt", "ShowFormat")},
        "arguments": ("ref",),
        "defaults": {"fmt": "text"},
    },
    "note": {
        "options": {"--internal": ("internal", FLAG, True), "-i": ("internal", FLAG, True),
                    "--template": ("template", STR),
                    "--dry-run": ("dry_run", FLAG, True),
                    "--keep-going": ("keep_going", FLAG, True)},
        "arguments": ("refs...", "text"),
        "defaults": {"template": None, "internal": False, "dry_run": False,
                     "keep_going": False},
    },
    "new": {
        "options": {
            **{("--type" if name == "ticket_type" else f"--{name.replace('_', '-')}"):
               (name, STR) for name in (
                "summary", "caller", "email", "phone", "verified", "verbatim", "error",
                "priority", "ticket_type", "channel", "client", "asset", "category",
                "assignee", "users_affected", "doing")},
            "--from": ("source", STR),
            "--keep-going": ("keep_going", FLAG, True),
            "--format": ("fmt", "NewFormat"), "-f": ("fmt", "NewFormat"),
        },
        "arguments": (),
        "defaults": {**dict.fromkeys((
            "summary", "caller", "email", "phone", "verified", "verbatim", "error",
            "priority", "ticket_type", "channel", "client", "asset", "category",
            "assignee", "users_affected", "doing", "source")),
            "keep_going": False, "fmt": "number"},
    },
    "kb search": {
        "options": {"--client": ("client", STR), "--tag": ("tag", STR),
                    "--since": ("since", STR), "--kind": ("kind", STR),
                    "--limit": ("limit", INT), "-n": ("limit", INT),
                    "--format": ("fmt", "Format"), "-f": ("fmt", "Format"),
                    "--header": ("header", FLAG, True),
                    "--no-header": ("header", FLAG, False),
                    "--csv-safe": ("csv_safe", FLAG, True)},
        "arguments": ("query",),
        "defaults": {"client": None, "tag": None, "since": None, "kind": None, "limit": 20,
                     "fmt": None, "header": True, "csv_safe": False},
    },
}

#: The choices of each enum kind, as click's case-insensitive ``Choice`` accepts them.
CHOICES: dict[str, tuple[str, ...]] = {
    "QueueFormat": ("table", "tsv", "csv", "json", "jsonl", "ids"),
    "ShowFormat": ("text", "json"),
    "NewFormat": ("number", "json", "jsonl"),
    "Format": ("table", "tsv", "csv", "json", "jsonl"),
}


def parse(argv: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """The command and the values Typer would pass it, or None when the command line is
    not one this reader is sure about (Typer then reads it)."""
    if not argv:
        return None
    name, rest = argv[0], list(argv[1:])
    if name == "kb":
        if not rest or rest[0] != "search":
            return None
        name, rest = "kb search", rest[1:]
    spec = FAST.get(name)
    if spec is None:
        return None
    options: dict[str, tuple[Any, ...]] = spec["options"]
    values: dict[str, Any] = {}
    positional: list[str] = []
    at = 0
    while at < len(rest):
        token = rest[at]
        at += 1
        if token == "-" or not token.startswith("-"):
            positional.append(token)
            continue
        attached: str | None = None
        if token.startswith("--") and "=" in token:
            token, attached = token.split("=", 1)
        found = options.get(token)
        if found is None:  # --help, --, an unknown or abbreviated option, -ia, -n5 ...
            return None
        parameter, kind = found[0], found[1]
        if kind == FLAG:
            if attached is not None:
                return None
            values[parameter] = found[2]
            continue
        if attached is None:
            if at >= len(rest):
                return None
            attached = rest[at]
            at += 1
        if attached.startswith("-"):  # click would take it; leave the doubt to click
            return None
        value = _value(kind, attached)
        if value is None:
            return None
        if kind == MANY:
            values.setdefault(parameter, []).append(value)
        else:
            values[parameter] = value  # repeated: the last one wins, as in click
    arguments = spec["arguments"]
    if arguments == ("refs...", "text"):
        if not positional:
            return None
        values["refs"], values["text"] = positional[:-1] or None, positional[-1]
    elif len(positional) != len(arguments):
        return None
    else:
        values.update(zip(arguments, positional, strict=True))
    return name, {**spec["defaults"], **values}


def _value(kind: str, text: str) -> Any:
    """``text`` as the option's type reads it, or None when only click can say."""
    if kind in (STR, MANY):
        return text
    if kind in (INT, INT1):
        if not (text.isascii() and text.isdigit()):
            return None
        number = int(text)
        return None if kind == INT1 and number < 1 else number
    folded = text.casefold()
    return folded if folded in CHOICES[kind] else None


def _work(name: str, values: dict[str, Any]) -> Callable[[], None] | None:
    """The command's work with its values, or None when the values take a path the fast
    reader leaves to Typer (``new --from``, a note on several tickets or a dry run)."""
    from . import quick

    if name == "queue":
        fmt = values["fmt"]
        values["fmt"] = None if fmt is None else quick.QueueFormat(fmt)
        return lambda: quick.queue(**values)
    if name == "show":
        values["fmt"] = quick.ShowFormat(values["fmt"])
        return lambda: quick.show(**values)
    if name == "kb search":
        from .output import Format

        fmt = values["fmt"]
        values["fmt"] = None if fmt is None else Format(fmt)
        return lambda: quick.kb_search(**values)
    if name == "note":
        refs, text, template = values["refs"], values["text"], values["template"]
        everything = [*(refs or []), text]
        if values["dry_run"] or values["keep_going"] or "-" in everything[:-1]:
            return None
        if len(everything) > (1 if template is not None else 2):
            return None  # several tickets: the bulk path
        if (template is None) == (len(everything) == 1):
            return None  # no text, or text and a template: Typer's path says why
        if template is not None:
            ref, text = everything[0], None
        else:
            ref, text = everything
        if ref == "-":
            return None
        return lambda: quick.note_one(ref, text, template, values["internal"])
    if name == "new":
        if values["source"] is not None or values["keep_going"]:
            return None
        flags = {key: values[key] for key in (
            "summary", "caller", "email", "phone", "verified", "verbatim", "error",
            "priority", "ticket_type", "channel", "client", "asset", "category",
            "assignee", "users_affected", "doing")}
        given = {("type" if key == "ticket_type" else key): value
                 for key, value in flags.items() if value is not None}
        fmt = quick.NewFormat(values["fmt"])
        return lambda: quick.new_one(given, fmt)
    return None


def _invoke(work: Callable[[], None]) -> int:
    """Run ``work`` as Typer's ``main`` runs a command (``typer.core._main``): EOF is an
    abort, Ctrl-C exits 130, ``typer.Exit`` gives its code, a closed pipe exits 1."""
    import errno

    try:
        work()
    except EOFError as error:
        import typer

        sys.stderr.write("\n")
        raise typer.Abort() from error
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
        sys.stderr = PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
        sys.exit(1)
    except Exception as error:
        loaded = sys.modules.get("typer")  # anything raising typer.Exit has loaded it
        if loaded is not None and isinstance(error, loaded.Exit):
            return int(error.exit_code)
        raise
    return 0


#: What bash completion of a command name can be answered from ``commands.COMMANDS``:
#: the word being completed, when nothing in ``COMP_WORDS`` needs shell-style unquoting.
_PLAIN_WORDS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                         "_-./ ")


def complete_bash(environ: Mapping[str, str]) -> str | None:
    """Bash's Tab, when it can be answered from the tables here, as Typer's bash
    completion prints it (one candidate a line), or None when Typer must answer.

    Two cases: the command name (``deskcli qu<Tab>``: the names in ``COMMANDS``, as
    ``DeskGroup.shell_complete`` offers them), and the options of a short command before
    any is given (``deskcli queue --<Tab>``: its options in declaration order, then the
    help option). Everything else (other shells, a later word, option values, anything
    quoted) goes to Typer; tests/cli/test_fast_path.py compares both answers."""
    if environ.get("_DESKCLI_COMPLETE") != "complete_bash":
        return None
    words, cword = environ.get("COMP_WORDS"), environ.get("COMP_CWORD")
    if words is None or cword is None or not cword.isdigit() or not set(words) <= _PLAIN_WORDS:
        return None
    split = words.split()
    at = int(cword)
    before, incomplete = split[1:at], (split[at] if len(split) > at else "")
    if len(split) > at + 1:
        return None
    if not before:
        if incomplete and not incomplete[0].isalnum():
            return None  # an option of the root command
        from .commands import COMMANDS

        found = [name for name in COMMANDS if name.startswith(incomplete)]
    else:
        spec = FAST.get(" ".join(before))
        if spec is None or not incomplete.startswith("-") or "=" in incomplete:
            return None
        found = [option for option in (*spec["options"], "--help", "-h")
                 if option.startswith(incomplete)]
    return "".join(f"{name}\n" for name in found) or "\n"


def fast(argv: Sequence[str]) -> int | None:
    """The exit code of a short command run without Typer, or None if Typer must run."""
    if any(key.startswith("_DESKCLI_COMPLETE") for key in os.environ):
        names = complete_bash(os.environ)
        if names is None:
            return None
        sys.stdout.write(names)
        return 0
    parsed = parse(argv)
    if parsed is None:
        return None
    work = _work(*parsed)
    if work is None:
        return None
    from .guard import run_guarded

    return run_guarded(lambda: _invoke(work))


def run() -> None:
    """Console-script entry point (``deskcli``)."""
    code = fast(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from .main import app

    app(prog_name="deskcli")
