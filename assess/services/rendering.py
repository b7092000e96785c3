"""Item content is Markdown: rendered with ``markdown``, sanitised with ``nh3``.

One function renders every stem, option and stimulus the same way, on the admin's preview and on
the participant's test page: :func:`render_markdown` (registered as the Jinja filter
``markdown``). :func:`unsafe_markup` is the validation side: it names what the sanitiser would
remove, so a bank file with a ``<script>`` or a ``javascript:`` link is refused at import instead
of being silently altered.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import urlsplit

import markdown
import nh3
from markupsafe import Markup

__all__ = ["ALLOWED_TAGS", "ALLOWED_ATTRIBUTES", "URL_SCHEMES", "render_markdown",
           "render_inline", "unsafe_markup", "markdown_to_html"]

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "ins", "sub", "sup", "small",
    "mark", "code", "pre", "kbd", "blockquote", "ul", "ol", "li", "table", "thead", "tbody",
    "tfoot", "tr", "th", "td", "caption", "h3", "h4", "h5", "h6", "a", "span", "abbr",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_EXTENSIONS = ["tables", "sane_lists"]
_EXTENSION_CONFIGS = {"tables": {"use_align_attribute": True}}  # align="", never style=""


_local = threading.local()


def markdown_to_html(text: str) -> str:
    """Markdown to (unsanitised) XHTML; tables allowed, alignment as attributes."""
    converter = getattr(_local, "converter", None)
    if converter is None:  # one converter per thread: building one costs more than converting
        converter = _local.converter = markdown.Markdown(
            extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS, output_format="xhtml")
    try:
        return converter.convert(text or "")
    finally:
        converter.reset()


@lru_cache(maxsize=8192)
def _render(text: str) -> str:
    return nh3.clean(markdown_to_html(text), tags=set(ALLOWED_TAGS),
                     attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer nofollow")


def render_markdown(text: str | None) -> Markup:
    """Render item Markdown to safe HTML (the Jinja filter ``markdown``)."""
    return Markup(_render(text or ""))


def render_inline(text: str | None) -> Markup:
    """Like :func:`render_markdown` for short texts (options): one paragraph loses its ``<p>``.

    The Jinja filter ``markdown_inline``; a text of several paragraphs keeps them.
    """
    html = _render(text or "").strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def _check(self, tag: str, attrs) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"<{tag}>")
            return
        allowed = ALLOWED_ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            if name not in allowed:
                self.problems.append(f"<{tag} {name}=…>")
            elif name == "href" and value:
                scheme = urlsplit(value.strip()).scheme.lower()
                if scheme and scheme not in URL_SCHEMES:
                    self.problems.append(f"{scheme}:")

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_comment(self, data):
        self.problems.append("<!-- -->")

    def handle_decl(self, decl):
        self.problems.append(f"<!{decl.split()[0] if decl.split() else ''}>")

    def handle_pi(self, data):
        self.problems.append("<?…>")


def unsafe_markup(text: str | None) -> list[str]:
    """What the sanitiser would strip from ``text`` once rendered (empty list: safe).

    Markdown escapes code spans and blocks, so ``<script>`` written as code is fine; raw HTML
    elements and attributes outside the allow-list, comments, and links with schemes other
    than http, https and mailto (``javascript:``, ``data:``) are reported.
    """
    if not text or ("<" not in text and "](" not in text and "]:" not in text):
        return []  # no raw HTML, no link: nothing the sanitiser could remove
    inspector = _Inspector()
    inspector.feed(markdown_to_html(text))
    inspector.close()
    return sorted(set(inspector.problems))
