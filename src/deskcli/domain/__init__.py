"""The rules of a service desk, as pure Python.

Nothing in this package performs I/O, reads the wall clock or imports a framework:
every function takes ``now`` (or the facts it needs) as an argument, so the rules
can be tested exactly and reused by the CLI, the TUI and the team server alike.

May import: nothing else of deskcli (the standard library, and a parser such as PyYAML
imported lazily where a file format needs it). Every other layer may import it.
"""
