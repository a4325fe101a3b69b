"""Text and attribute values for the SVG charts and the Atom feed, escaped as
xml.sax.saxutils escapes them (importing that module pulls in urllib.request: 8 ms of a build)."""

from __future__ import annotations


def escape(text: str) -> str:
    """XML text: `&`, `<` and `>` escaped."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text: str) -> str:
    """An XML attribute value with its quotes, as xml.sax.saxutils.quoteattr writes it."""
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    return f"'{text}'" if "'" not in text else '"' + text.replace('"', "&quot;") + '"'
