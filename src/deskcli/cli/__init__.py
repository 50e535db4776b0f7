"""The ``deskcli`` command line: scripted ticket work over the same services as the TUI.

One small module per command group; ``main`` builds the Typer app from them. Commands only
gather input, call a service and print the result: every rule lives in the domain layer,
so the CLI refuses exactly what the full-screen app refuses, with the same words.
"""
