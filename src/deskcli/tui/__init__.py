"""The console: the Textual app, its screens, its widgets and the session state they share.

One folder per front end, like ``cli/`` and ``server/``. ``session.DeskSession`` is the
console's state over a desk (what the screens ask of the services, run under one lock);
it opens the desks the sync and notification threads use and hands them to those layers.

May import: ``services``, ``sync``, ``storage``, ``domain`` and the shared modules; never
``cli`` or ``server``. Screens and widgets never import ``app`` at run time (the app
imports them): they reach the running app through ``screens.context.desk_app`` and are
given what they need from it. Nothing below the console imports anything from here;
``cli`` reaches it through one lazy entry (``cli.main.launch_tui``). Enforced by
tests/test_layers.py.
"""
