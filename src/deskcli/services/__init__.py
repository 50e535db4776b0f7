"""The service layer: one API for every front end (no UI, no HTTP).

``desk.open_desk`` wires the configuration, checklists, store and services once; the
CLI, the console and the server's mailbox thread all call what it returns, so they apply
the same rules with the same words. Services sequence the writes of a change inside one
store transaction and leave the rules to the domain. One service uses another only
through public methods; the clock and id factory come from the ``Desk``.

May import: ``domain``, ``storage``, ``config``, ``clock``, ``paths``, ``checklists``
and the ``notify`` adapters (lazily). Never ``sync``, ``server``, ``cli`` or ``tui``: what
a service needs from those is handed in (``doctor`` gets the token finder from the CLI).
Enforced by tests/test_layers.py.
"""
