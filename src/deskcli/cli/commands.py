"""The commands ``deskcli`` has: where each is declared, and its one-line summary.

Kept apart from ``main`` (the Typer app) so that reading this table loads nothing else:
the entry point (``launch``) completes command names for the shell from it without
importing Typer, and ``main`` loads only the module of the command being run.
"""

from __future__ import annotations

#: Command name → (module in deskcli.cli, attribute): a function, or a Typer sub-app.
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("tickets", "new"),
    "queue": ("queue", "queue"),
    "show": ("tickets", "show"),
    "set": ("tickets", "set_fields"),
    "note": ("tickets", "note"),
    "log-time": ("tickets", "log_time"),
    "attach": ("files_cmd", "attach"),
    "attachment": ("files_cmd", "attachment"),
    "step": ("lifecycle", "step"),
    "escalate": ("lifecycle", "escalate"),
    "resolve": ("lifecycle", "resolve"),
    "close": ("lifecycle", "close"),
    "reopen": ("lifecycle", "reopen"),
    "link": ("links_cmd", "link"),
    "unlink": ("links_cmd", "unlink"),
    "merge": ("links_cmd", "merge"),
    "report": ("report_cmd", "report"),
    "csat": ("report_cmd", "csat"),
    "checklist": ("checklist_cmd", "app"),
    "kb": ("kb_cmd", "app"),
    "client-tier": ("demo_cmd", "client_tier"),
    "demo": ("demo_cmd", "demo"),
    "login": ("sync_cmd", "login"),
    "logout": ("sync_cmd", "logout"),
    "sync": ("sync_cmd", "sync"),
    "serve": ("sync_cmd", "serve"),
    "server": ("sync_cmd", "server_app"),
    "notify": ("notify_cmd", "app"),
    "doctor": ("doctor_cmd", "doctor"),
    "mail": ("mail_cmd", "app"),
    "rules": ("rules_cmd", "app"),
}

#: Each command's one-line summary (the first paragraph of its help), for shell completion:
#: offering the command names must not import every command's module to ask for its help
#: (that took Tab to ~0.7 s). tests/cli/test_completion_speed.py keeps it equal to the help.
SUMMARIES: dict[str, str] = {
    'new': 'Open a new ticket and print its number.',
    'queue': 'List the open queue, what to pick up next first.',
    'show': 'Show a ticket with its checklist progress and timeline.',
    'set': 'Change the fields and tags of one ticket or several.',
    'note': 'Add a reply to the caller, or an internal note, on one ticket or several.',
    'log-time': 'Log time spent on a ticket (each of several tickets gets the whole duration).',
    'attach': 'Attach a file to a ticket; its content is copied into the store.',
    'attachment': "Save an attachment's content, after checking it against its SHA-256 hash.",
    'step': 'Complete a checklist step with what it collects, or skip it with a reason.',
    'escalate': 'Escalate to a Tier 2 queue with handoff notes.',
    'resolve': 'Resolve a ticket, from any open status.',
    'close': 'Close a resolved ticket, or several.',
    'reopen': 'Reopen a resolved or closed ticket.',
    'link': 'Link tickets under a parent ticket.',
    'unlink': 'Take tickets out from under their parent.',
    'merge': 'Merge duplicate tickets into the one to keep.',
    'report': 'Report the service-desk metrics over a window.',
    'csat': "Record a caller's satisfaction survey answer.",
    'checklist': 'List and show the installed checklists.',
    'kb': 'The knowledge base: articles and the fixes recorded on resolved tickets.',
    'client-tier': "Set a client's contract tier.",
    'demo': 'Fill the store with sample tickets.',
    'login': 'Connect this store to a team server and keep your token in the OS keyring.',
    'logout': "Forget the token for this store's team server (the store keeps its data).",
    'sync': "Send this store's changes to the team server and fetch everyone else's.",
    'serve': "Run the team server that technicians' deskcli sync with.",
    'server': "Administer a team server's technicians (run on the server machine).",
    'notify': 'Pages, incident chat posts and caller email: test, inspect and send.',
    'doctor': 'Check the store, config, checklists, credentials and file permissions.',
    'mail': 'Tickets by email: fetch the support mailboxes, check them, see their state.',
    'rules': 'Rules that route, raise, escalate, follow up and close tickets by themselves.',
}
