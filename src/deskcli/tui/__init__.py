"""The console: the Textual app, its screens, its widgets and the session state they share.

One folder per front end, like ``cli/`` and ``server/``. The console calls services and the
domain; nothing below it imports anything from here. ``cli`` reaches it through one lazy
entry (``deskcli.tui.app.run``) so that a plain command never loads Textual.
"""
