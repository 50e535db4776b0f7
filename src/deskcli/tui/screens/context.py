"""Typed access to the running DeskApp from any screen or widget."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from deskcli.tui.app import DeskApp


def desk_app(node: DOMNode) -> DeskApp:
    return cast("DeskApp", node.app)
