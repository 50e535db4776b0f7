"""The service layer: one API for every front end (no UI, no HTTP)."""
