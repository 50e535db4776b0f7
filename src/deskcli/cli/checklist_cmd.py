"""``deskcli checklist list|show``: the installed checklists and what each step collects."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from deskcli.domain.checklist import Checklist
from deskcli.domain.errors import NotFound

from . import output
from .session import open_cli_desk

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, add_completion=False)


@app.callback()
def checklist() -> None:
    """List and show the installed checklists.

    Team files in the config folder's checklists/ add checklists or replace a built-in
    one with the same key (docs/checklists.md describes the format).

    Examples:

    \b
      deskcli checklist list
      deskcli checklist show tier1
    """

LIST_FIELDS = ("key", "title", "version", "steps", "source")


class ShowFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@app.command("list")
def list_checklists(
    fmt: output.FormatOption = None,
    header: output.HeaderOption = True,
) -> None:
    """List the installed checklists.

    Team files in the config folder's checklists/ replace a built-in one with the same key.

    Examples:

    \b
      deskcli checklist list
      deskcli checklist list --format json
    """
    chosen = output.pick_format(fmt)
    output.check_header_option(chosen, header)
    with open_cli_desk() as desk:
        rows = [(c.key, c.title, c.version, len(c.steps), c.source)
                for c in sorted(desk.checklists.values(), key=lambda c: c.key)]
    output.write_rows(rows, LIST_FIELDS, chosen, header=header)


@app.command("show")
def show_checklist(
    key: Annotated[str, typer.Argument(help="Checklist key (see checklist list).")
                   ] = "tier1",
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", case_sensitive=False,
                                            help="text for people, json for programs.")
                   ] = ShowFormat.TEXT,
) -> None:
    """Show a checklist's phases and steps.

    For each step: what it collects and when it applies.

    Step keys shown here are what deskcli step takes.

    Examples:

    \b
      deskcli checklist show
      deskcli checklist show tier1 --format json
    """
    with open_cli_desk() as desk:
        checklist = desk.checklists.get(key)
        if checklist is None:
            raise NotFound(f"no checklist {key!r}; installed: "
                           f"{', '.join(sorted(desk.checklists))}")
    if fmt is ShowFormat.JSON:
        output.write_text(output.dumps(checklist_json(checklist)))
    else:
        output.write_text(checklist_text(checklist))


def checklist_json(checklist: Checklist) -> dict[str, Any]:
    return {
        "key": checklist.key, "title": checklist.title, "version": checklist.version,
        "description": checklist.description, "source": checklist.source,
        "phases": [{
            "key": phase.key, "title": phase.title,
            "steps": [{
                "key": step.key, "title": step.title, "required": step.required,
                "action": step.action, "gates": list(step.gates),
                "requires": list(step.requires), "guidance": step.guidance.strip(),
                "fields": [{"key": f.key, "label": f.label, "kind": f.kind.value,
                            "required": f.required, "choices": list(f.choices) or None}
                           for f in step.fields],
            } for step in phase.steps],
        } for phase in checklist.phases],
    }


def checklist_text(checklist: Checklist) -> str:
    lines = [f"{checklist.title} ({checklist.key}, version {checklist.version})",
             f"  {checklist.description}", f"  from {checklist.source}"]
    for phase in checklist.phases:
        lines += ["", f"{phase.title}"]
        for step in phase.steps:
            flags = [] if step.required else ["optional"]
            if step.when or step.unless:
                flags.append("conditional")
            if step.gates:
                flags.append("needs " + ", ".join(step.gates).replace("_", " "))
            extra = f"  [{'; '.join(flags)}]" if flags else ""
            lines.append(f"  {step.key:<22} {step.title}{extra}")
            for f in step.fields:
                kind = f.kind.value + (f": {'|'.join(f.choices)}" if f.choices else "")
                need = "" if f.required else ", optional"
                lines.append(f"      --value {f.key}=…   {f.label} ({kind}{need})")
    return "\n".join(lines)
