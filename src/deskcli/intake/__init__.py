"""The IMAP side of email intake: connecting to a support mailbox, reading and moving mail.

Like ``deskcli.notify`` for outgoing messages, this package only speaks the wire; what a
message becomes is decided by ``deskcli.domain.mail`` and written by
``deskcli.services.mail``. imapclient is imported here only, so commands that never touch
a mailbox never load it.

May import: ``domain``, ``secrets`` and ``services.mail`` (the mailbox interface it
implements and the error it raises). No sync and no front end; the front end hands
``services.mail`` a way to connect. Enforced by tests/test_layers.py.
"""
