"""Read a page the way a browser and htmx would: its links and its forms.

Links are every ``href``, ``src``, ``hx-get`` and the action of a GET form (with the
form's own field values); forms are every ``<form>`` with its method, action, encoding
and fields (name → the value the page filled in, or the options of a select).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

LINK_ATTRS = ("href", "src", "hx-get")


@dataclass
class Form:
    method: str
    action: str
    enctype: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name → candidate values

    def defaults(self) -> dict[str, str]:
        return {name: values[0] if values else "" for name, values in self.fields.items()}


@dataclass
class Page:
    url: str
    links: list[str] = field(default_factory=list)  # raw attribute values, as written
    forms: list[Form] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page(url)
        self.form: Form | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name in LINK_ATTRS:
            if a.get(name) and not (tag == "link" and a.get("rel") == "preconnect"):
                self.page.links.append(a[name])
        if tag == "form":
            self.form = Form(
                method=(a.get("method") or "get").lower(),
                action=a.get("action") or self.page.url,
                enctype=a.get("enctype") or "application/x-www-form-urlencoded",
            )
            self.page.forms.append(self.form)
        elif self.form is not None and tag in ("input", "button") and a.get("name"):
            kind = a.get("type", "text" if tag == "input" else "submit")
            values = self.form.fields.setdefault(a["name"], [])
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind in ("submit", "checkbox", "radio") and "checked" not in a:
                values.append(value)  # one of the choices
            else:
                values.insert(0, value)  # what the form sends as it stands
        elif self.form is not None and tag == "select" and a.get("name"):
            self.select = a["name"]
            self.form.fields.setdefault(self.select, [])
        elif self.form is not None and tag == "option" and self.select:
            values = self.form.fields[self.select]
            if "selected" in a:
                values.insert(0, a.get("value", ""))
            else:
                values.append(a.get("value", ""))
        elif self.form is not None and tag == "textarea" and a.get("name"):
            self.textarea = a["name"]
            self.form.fields.setdefault(self.textarea, [""])

    def handle_data(self, data: str) -> None:
        if self.form is not None and self.textarea:
            self.form.fields[self.textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def parse(url: str, html: str) -> Page:
    parser = _Parser(url)
    parser.feed(html)
    parser.close()
    return parser.page


def internal(base: str, raw: str) -> str | None:
    """The same-site path (with query) a raw link points to, or ``None`` for another
    site, an in-page anchor or a non-HTTP scheme (``mailto:`` …)."""
    absolute = urljoin(base, raw.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(base).netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def targets(page: Page) -> list[str]:
    """Every internal address a visitor can reach from the page with GET."""
    out = [t for t in (internal(page.url, raw) for raw in page.links) if t]
    for form in page.forms:
        if form.method == "get":
            target = internal(page.url, form.action)
            if target:
                query = urlencode(form.defaults())
                out.append(target.split("?")[0] + (f"?{query}" if query else ""))
    return out
