"""Reusable Textual widgets for deskcli's screens; each carries its own DEFAULT_CSS."""
