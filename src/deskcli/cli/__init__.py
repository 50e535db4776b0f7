"""The ``deskcli`` command line: scripted ticket work over the same services as the TUI.

One small module per command group; ``main`` builds the Typer app from them, and
``launch`` (the entry point) runs the short commands' work (``quick``) without Typer when
it can read their command line exactly as Typer would. Commands only
gather input, call a service and print the result: every rule lives in the domain layer,
so the CLI refuses exactly what the full-screen app refuses, with the same words.

May import: every layer below the front ends, ``sync`` for login and sync, and ``server``
lazily for ``serve`` and ``server``. ``tui`` only through ``main.launch_tui`` (the console
opened by ``deskcli`` with no command), imported there and only then, so a scripted
command never loads Textual. Enforced by tests/test_layers.py.
"""
