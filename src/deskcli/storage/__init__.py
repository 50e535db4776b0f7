"""The local store: the only code that speaks SQL.

``store.Store`` talks to SQLite through the standard library driver, because the CLI's
start-up budget cannot afford SQLAlchemy. ``models`` declares the same tables as SQLModel
classes for the team server and for the test that keeps the two from drifting apart.
"""
