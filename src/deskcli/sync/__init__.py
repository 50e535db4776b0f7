"""Offline-first sync between a technician's store and the team server (client side).

``client`` pushes the outbox and pulls the feed, ``apply`` merges pulled rows into the
store (last writer wins by HLC stamp, a quarantine for rows that cannot apply),
``protocol`` and ``schema`` are the vocabulary and op checks the server shares, and
``credentials`` keeps the token.

May import: ``domain`` and ``storage``. Not ``services``, ``cli``, ``tui`` or ``server``:
sync names what it needs from a desk as a ``Protocol`` (``client.SyncDesk``,
``apply.TicketRules``) and the front end hands in its own. Enforced by
tests/test_layers.py.
"""
