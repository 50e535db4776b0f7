"""One Textual screen per module, each with its stylesheet beside it."""
