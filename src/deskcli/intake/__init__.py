"""The IMAP side of email intake: connecting to a support mailbox, reading and moving mail.

Like ``deskcli.notify`` for outgoing messages, this package only speaks the wire; what a
message becomes is decided by ``deskcli.domain.mail`` and written by
``deskcli.services.mail``. imapclient is imported here only, so commands that never touch
a mailbox never load it.
"""
