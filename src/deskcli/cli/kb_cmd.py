"""``deskcli kb``: search, show, add, edit, link, import and export knowledge-base articles.

Thin: each command turns its options into a service call (``services/kb.py``) and prints
the result. The one search covers articles and resolved tickets alike.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from deskcli.domain import kb_markdown
from deskcli.domain.errors import InvalidInput, OperationFailed
from deskcli.domain.kb import ArticleDraft, short_handle, split_list
from deskcli.domain.timefmt import from_iso
from deskcli.services.kb import KbService

from . import output, quick
from .exits import say
from .params import Ref, opt
from .records import read_source
from .session import open_cli_desk

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, add_completion=False)

ArticleId = Annotated[str, typer.Argument(
    metavar="ID", show_default=False,
    help="Article: the 8-character id search prints, any unambiguous part of the id's "
         "start or end (4+ hex digits), or the full id.")]



class ShowFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


class AddFormat(StrEnum):
    ID = "id"
    JSON = "json"


@app.callback()
def kb() -> None:
    """The knowledge base: articles and the fixes recorded on resolved tickets.

    search looks through both at once; add, edit, import and export manage articles
    (Markdown with +++ TOML front matter; docs/knowledge-base.md has the format).

    Examples:

    \b
      deskcli kb search 0x800CCC0E
      deskcli kb add --title "Outlook cannot send" --errors 0x800CCC0E --body-file fix.md
      deskcli kb link 4521 3f9a1c2e
    """


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(
        help="Words, error codes or \"quoted phrases\"; all must match (if nothing has "
             "all of them, the best matches of any are listed).", show_default=False)],
    client: Annotated[str | None, opt("Only this client's tickets and articles, plus "
                                      "articles for every client.", metavar="NAME")] = None,
    tag: Annotated[str | None, opt("Only articles with this tag (tickets: category).",
                                   metavar="TAG")] = None,
    since: Annotated[str | None, opt("Only what was written or resolved within this age: "
                                     "48h, 90d, 12w, 6mo, 1y (m is minutes, mo months).",
                                     metavar="AGE")] = None,
    kind: Annotated[str | None, opt("Only article or only ticket hits.",
                                    metavar="KIND")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many hits.")
                     ] = 20,
    fmt: output.FormatOption = None,
    header: output.HeaderOption = True,
    csv_safe: output.CsvSafeOption = False,
) -> None:
    """Search articles and resolved tickets, best match first.

    Each hit says whether it is an article (ref: its id) or a ticket (ref: its number),
    with its title, score (higher is better) and a snippet with the matched words
    between ** marks. Error codes match as whole tokens: 0x800CCC0E does not match
    0x800CCC0E1.

    Examples:

    \b
      deskcli kb search "Event ID 4625" --since 90d
      deskcli kb search outlook --client Acme --format json
      deskcli kb search 0x800CCC0E --kind ticket | cut -f2,3
    """
    quick.kb_search(query=query, client=client, tag=tag, since=since, kind=kind,
                    limit=limit, fmt=fmt, header=header, csv_safe=csv_safe)


@app.command("show")
def show(
    article_id: ArticleId,
    fmt: Annotated[ShowFormat, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="text for people, markdown for the file format, json for programs.")
    ] = ShowFormat.TEXT,
) -> None:
    """Show an article with its version history and the tickets that used it.

    Examples:

    \b
      deskcli kb show 3f9a1c2e
      deskcli kb show 3f9a1c2e --format markdown > outlook.md
    """
    with open_cli_desk() as desk:
        detail = KbService.for_desk(desk).detail(article_id)
    article = detail.article
    if fmt is ShowFormat.MARKDOWN:
        output.write_text(kb_markdown.render(detail.draft()))
        return
    versions = [{"at": v["at"], "author": v["author"], "changed": v["changed"].split(",")}
                for v in detail.versions]
    links = [{"ticket": f"#{link['number']}" if link["number"] else link["provisional"],
              "summary": link["summary"], "at": link["at"], "author": link["author"]}
             for link in detail.links]
    if fmt is ShowFormat.JSON:
        output.write_text(output.dumps({
            "id": article["id"], "handle": detail.handle, "title": article["title"],
            "body": article["body"], "tags": split_list(article["tags"]),
            "errors": split_list(article["error_codes"]),
            "products": split_list(article["products"]), "client": article["client_name"],
            "created_at": article["created_at"], "created_by": article["created_by"],
            "revised_at": article["revised_at"], "revised_by": article["revised_by"],
            "versions": versions, "links": links}))
        return
    lines = [f"{article['title']}  [{detail.handle}]",
             f"  for {article['client_name'] or 'every client'} · updated "
             f"{_when(article['revised_at'])} by {article['revised_by']}"]
    for label, key in (("tags", "tags"), ("errors", "error_codes"), ("products", "products")):
        if article[key]:
            lines.append(f"  {label}: {article[key].replace(',', ', ')}")
    lines += ["", article["body"].rstrip() or "(no body yet)", "", "History:"]
    lines += [f"  {_when(v['at'])}  {v['author']:<12} {', '.join(v['changed'])}"
              for v in versions]
    lines += ["", "Used on tickets:" if links else "Not linked to any ticket yet."]
    lines += [f"  {link['ticket']:<8} {link['summary']}  ({_when(link['at'])}, "
              f"{link['author']})" for link in links]
    output.write_text("\n".join(lines))


def _when(iso: str) -> str:
    return from_iso(iso).strftime("%d %b %Y %H:%M")


def _body(body_file: str | None) -> str | None:
    return None if body_file is None else read_source(body_file, "a Markdown file",
                                                      "body_file")[0]


def _draft_from_options(base: ArticleDraft, *, title: str | None, tags: str | None,
                        errors: str | None, products: str | None, client: str | None,
                        body: str | None) -> ArticleDraft:
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if tags is not None:
        changes["tags"] = split_list(tags)
    if errors is not None:
        changes["error_codes"] = split_list(errors)
    if products is not None:
        changes["products"] = split_list(products)
    if client is not None:
        changes["client"] = client or None
    if body is not None:
        changes["body"] = body
    return base.replace(**changes)


TitleOpt = Annotated[str | None, opt("The article's title.", metavar="TITLE")]
TagsOpt = Annotated[str | None, opt("Tags, comma-separated.", metavar="A,B")]
ErrorsOpt = Annotated[str | None, opt("Error codes and event ids it covers, "
                                      "comma-separated.", metavar="CODE,...")]
ProductsOpt = Annotated[str | None, opt("Products or vendor stack, comma-separated.",
                                        metavar="A,B")]
ClientOpt = Annotated[str | None, opt("The one client it applies to (\"\" or absent: every "
                                      "client).", metavar="NAME")]
BodyOpt = Annotated[str | None, opt("Markdown body from FILE (- for stdin).",
                                    metavar="FILE")]


@app.command("add")
def add(
    title: TitleOpt = None,
    tags: TagsOpt = None,
    errors: ErrorsOpt = None,
    products: ProductsOpt = None,
    client: ClientOpt = None,
    body_file: BodyOpt = None,
    source: Annotated[str | None, opt(
        "A whole article as Markdown (front matter or '# Title' first) from FILE (- for "
        "stdin); the options above override its fields.", param_decls=["--from"],
        metavar="FILE")] = None,
    fmt: Annotated[AddFormat, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="id: the new article's id alone; json: the article.")] = AddFormat.ID,
) -> None:
    """Write a new article and print its id.

    Examples:

    \b
      id=$(deskcli kb add --title "Outlook cannot send" --errors 0x800CCC0E \\
             --tags outlook,smtp --body-file steps.md)
      deskcli kb add --from article.md
    """
    if source is not None and body_file is not None:
        raise InvalidInput("--from already holds the body: leave out --body-file")
    base = ArticleDraft(title="")
    if source is not None:
        text, name = read_source(source, "a Markdown file")
        base = kb_markdown.parse(text, name)
    elif title is None:
        raise InvalidInput("an article needs a title: give --title, or --from a Markdown "
                           "file")
    draft = _draft_from_options(base, title=title, tags=tags, errors=errors,
                                products=products, client=client, body=_body(body_file))
    with open_cli_desk() as desk:
        article = KbService.for_desk(desk).add(draft.replace(id=None))
    if fmt is AddFormat.JSON:
        output.write_text(output.dumps({"id": article["id"],
                                        "handle": short_handle(article["id"]),
                                        "title": article["title"]}))
    else:
        output.write_text(short_handle(article["id"]))


@app.command("edit")
def edit(
    article_id: ArticleId,
    title: TitleOpt = None,
    tags: TagsOpt = None,
    errors: ErrorsOpt = None,
    products: ProductsOpt = None,
    client: ClientOpt = None,
    body_file: BodyOpt = None,
) -> None:
    """Change an article; a new version is saved only if something changed.

    With no options, opens the article in $VISUAL or $EDITOR as Markdown with front
    matter; save and quit to keep the changes. If the file cannot be read back, nothing
    is saved and the file is kept so your text is not lost.

    Examples:

    \b
      deskcli kb edit 3f9a1c2e
      deskcli kb edit 3f9a1c2e --tags outlook,smtp,mfa --body-file steps.md
    """
    options = (title, tags, errors, products, client, body_file)
    body = _body(body_file)
    with open_cli_desk() as desk:
        service = KbService.for_desk(desk)
        detail = service.detail(article_id)
        if any(value is not None for value in options):
            draft = _draft_from_options(detail.draft(), title=title, tags=tags,
                                        errors=errors, products=products, client=client,
                                        body=body)
        else:
            draft = _edit_in_editor(detail.draft())
        _, changed = service.edit(detail.article["id"], draft.replace(id=None))
    if changed:
        say(f"saved a new version of {detail.handle} ({', '.join(changed)} changed)")
    else:
        say(f"no change to {detail.handle}; nothing saved")


def _edit_in_editor(draft: ArticleDraft) -> ArticleDraft:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    handle = short_handle(draft.id or "")
    descriptor, name = tempfile.mkstemp(prefix=f"deskcli-kb-{handle}-", suffix=".md")
    path = Path(name)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(kb_markdown.render(draft))
    try:
        finished = subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as error:
        path.unlink(missing_ok=True)
        raise OperationFailed(f"cannot start the editor {editor!r} ({error.strerror}); set "
                              "EDITOR, or use --title/--tags/--body-file") from None
    if finished.returncode != 0:
        path.unlink(missing_ok=True)
        raise OperationFailed(f"the editor exited with status {finished.returncode}; "
                              "nothing was saved")
    try:
        edited = kb_markdown.parse(path.read_text(encoding="utf-8"), str(path))
    except InvalidInput as error:
        raise InvalidInput(f"{error.message} (nothing saved; your text is kept in "
                           f"{path})") from None
    path.unlink(missing_ok=True)
    if edited.id and edited.id != draft.id:
        raise InvalidInput("the id in the front matter was changed; nothing saved")
    return edited


@app.command("link")
def link(ref: Ref, article_id: ArticleId) -> None:
    """Record that a ticket used an article (shown on both, and on the timeline).

    Examples:

    \b
      deskcli kb link 4521 3f9a1c2e
    """
    with open_cli_desk() as desk:
        article, created = KbService.for_desk(desk).link(ref, article_id)
    handle = short_handle(article["id"])
    say(f"linked {handle} to ticket {ref}" if created
        else f"{handle} was already linked to ticket {ref}; nothing written")


@app.command("import")
def import_dir(
    folder: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                           help="Folder of .md/.markdown files "
                                                "(searched recursively).")],
) -> None:
    """Import Markdown articles, all or nothing.

    Every file is checked first; one bad file (the message names it, with the line and
    the problem) and nothing is written. A file carrying the id of an article here
    updates it; any other file adds an article. Plain Markdown exported from IT Glue,
    Hudu or Confluence works: the first '# heading' becomes the title. So does '---'
    YAML front matter from Hugo, Jekyll or Obsidian. Files ending .md or .markdown (any
    case) are read; every other file is listed on stderr with the reason it was skipped.

    Examples:

    \b
      deskcli kb import ./hudu-export
      deskcli kb export ./kb && deskcli kb import ./kb
    """
    with open_cli_desk() as desk:
        report = KbService.for_desk(desk).import_dir(folder)
    results = report.imported
    created = sum(r.created for r in results)
    updated = sum(r.changed and not r.created for r in results)
    for result in results:
        output.write_text(f"{result.handle}\t{result.path}")
    for skipped in report.skipped:
        say(f"skipped {skipped.path}: {skipped.reason}")
    say(f"imported {len(results)} file(s): {created} new, {updated} updated, "
        f"{len(results) - created - updated} unchanged"
        + (f"; skipped {len(report.skipped)} other file(s)" if report.skipped else ""))


@app.command("export")
def export_dir(
    folder: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                           help="Folder to write (created if missing).")],
) -> None:
    """Write every article as a Markdown file with front matter (one file each).

    Examples:

    \b
      deskcli kb export ./kb-backup
    """
    with open_cli_desk() as desk:
        written = KbService.for_desk(desk).export_dir(folder)
    for path in written:
        output.write_text(str(path))
    say(f"exported {len(written)} article(s) to {folder}")
