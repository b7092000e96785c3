"""IMS QTI 3.0 content packages: items move to and from TAO and other QTI tools.

Export writes one ``qti-assessment-item`` per item (a single-choice ``qti-choice-interaction``;
multiple-choice items score with the ``match_correct`` template, situational judgement and Likert
items with ``map_response`` and a mapping of each option to its 1-5 points), one
``qti-assessment-stimulus`` per shared stimulus, and ``imsmanifest.xml``. What QTI has no place
for (competency, level, subdomain, status, IRT model and parameters, the Markdown source of the
texts) travels in the manifest's resource metadata in the ``assess`` namespace, so a package
exported here imports back unchanged.

Import reads QTI 3.0 and QTI 2.1/2.2 packages. Scoring comes from the response declaration (the
part QTI tools edit); texts come from the Markdown in our metadata while it still matches the
item body, and from the item body otherwise. Items from other tools, which carry no metadata,
go to the competency the admin chooses, as drafts with provisional parameters, under new ids
unless their identifier already is one of that competency's.
"""
from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser
from posixpath import dirname, join, normpath
from typing import Any, Optional
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from assess.extensions import db
from assess.models import Competency, Item
from assess.services.bank import (
    DICHOTOMOUS, ITEM_ID_DIGITS, BankContent, BankDoc, BankProblem, safe_zip,
)
from assess.services.rendering import render_inline, render_markdown

QTI = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ASSESS = "urn:x-assess:item-bank:1"
ITEM_XSD = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
CP_XSD = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
MATCH_CORRECT = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"
MAP_RESPONSE = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/map_response.xml"
ITEM_TYPE = "imsqti_item_xmlv3p0"
STIMULUS_TYPE = "imsqti_stimulus_xmlv3p0"

def _q(tag: str) -> str:
    return f"{{{QTI}}}{tag}"


def _a(tag: str) -> str:
    return f"{{{ASSESS}}}{tag}"


# ----------------------------------------------------------------------------- HTML <-> XML
class _XmlBuilder(HTMLParser):
    """Sanitised HTML (from :func:`render_markdown`) as XML elements under ``parent``."""

    VOID = {"br", "hr", "img", "col", "wbr"}

    def __init__(self, parent: ET.Element):
        super().__init__(convert_charrefs=True)
        self.stack = [parent]

    def _text(self, data: str) -> None:
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data

    def handle_starttag(self, tag, attrs):
        element = ET.SubElement(self.stack[-1], _q(tag), {k: v or "" for k, v in attrs if k != "rel"})
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        ET.SubElement(self.stack[-1], _q(tag), {k: v or "" for k, v in attrs if k != "rel"})

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == _q(tag):
                del self.stack[depth:]
                break

    def handle_data(self, data):
        self._text(data)


def _append_html(parent: ET.Element, html: str) -> None:
    builder = _XmlBuilder(parent)
    builder.feed(html)
    builder.close()


def _local(tag: Any) -> str:
    """An element's name without namespace, QTI 2 camelCase names in their QTI 3 form."""
    if not isinstance(tag, str):
        return ""
    name = tag.rsplit("}", 1)[-1]
    if name.startswith("qti-"):
        return name
    if any(ch.isupper() for ch in name) or name in ("value", "mapping", "prompt"):
        return "qti-" + re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()
    return name


def _attr(element: ET.Element, name: str, default: Optional[str] = None) -> Optional[str]:
    """Attribute by its QTI 3 name (``max-choices``) or its QTI 2 name (``maxChoices``)."""
    if name in element.attrib:
        return element.attrib[name]
    camel = re.sub(r"-([a-z])", lambda m: m.group(1).upper(), name)
    return element.attrib.get(camel, default)


def _text_of(element: ET.Element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def _to_markdown(element: ET.Element) -> str:
    """Foreign item XHTML to Markdown: paragraphs, emphasis, lists, tables, line breaks."""

    def inline(el: ET.Element) -> str:
        out = [el.text or ""]
        for child in el:
            out.append(node(child))
            out.append(child.tail or "")
        return "".join(out)

    def node(el: ET.Element) -> str:
        name = _local(el.tag)
        body = inline(el)
        if name in ("strong", "b"):
            return f"**{body.strip()}**" if body.strip() else ""
        if name in ("em", "i"):
            return f"*{body.strip()}*" if body.strip() else ""
        if name == "code":
            return f"`{body}`"
        if name == "br":
            return "  \n"
        if name in ("sub", "sup", "u"):
            return f"<{name}>{body}</{name}>"
        if name == "a":
            href = el.attrib.get("href", "")
            return f"[{body}]({href})" if href.startswith(("http://", "https://", "mailto:")) else body
        if name == "img":
            return el.attrib.get("alt", "")
        if name in ("p", "div", "qti-prompt", "blockquote", "pre") or re.fullmatch(r"h[1-6]", name):
            prefix = "### " if name.startswith("h") and len(name) == 2 else ""
            return f"\n\n{prefix}{body.strip()}\n\n"
        if name in ("ul", "ol"):
            items = [c for c in el if _local(c.tag) == "li"]
            marks = [f"{n}." if name == "ol" else "-" for n in range(1, len(items) + 1)]
            return "\n\n" + "\n".join(f"{m} {inline(li).strip()}" for m, li in zip(marks, items)) + "\n\n"
        if name == "table":
            rows = [r for r in el.iter() if _local(r.tag) == "tr"]
            lines = []
            for n, row in enumerate(rows):
                cells = [inline(c).strip().replace("|", "\\|") for c in row if _local(c.tag) in ("td", "th")]
                lines.append("| " + " | ".join(cells) + " |")
                if n == 0:
                    lines.append("|" + "---|" * len(cells))
            return "\n\n" + "\n".join(lines) + "\n\n"
        return body

    text = inline(element)
    text = re.sub(r"[ \t]+\n", lambda m: "  \n" if m.group(0).startswith("  ") else "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ----------------------------------------------------------------------------- export
_PREFIXES = {XSI: "xsi", ASSESS: "assess", "http://www.w3.org/XML/1998/namespace": "xml"}
_INLINE_QTI = {"qti-simple-choice", "qti-prompt", "qti-stimulus-body", "qti-value"}


def _xml_bytes(root: ET.Element, default_ns: str) -> bytes:
    """Serialise with ``default_ns`` as the default namespace (ElementTree cannot, with plain
    attributes). Structural elements are indented; HTML content is written as it is, since
    whitespace inside it (in ``pre`` for one) is content."""
    used: set[str] = set()

    def name(tag: str) -> str:
        if tag.startswith("{"):
            uri, local = tag[1:].split("}", 1)
            if uri == default_ns:
                return local
            used.add(uri)
            return f"{_PREFIXES[uri]}:{local}"
        return tag

    def pretty(el: ET.Element) -> bool:
        uri, local = el.tag[1:].split("}", 1)
        if uri == ASSESS:
            return local in ("item", "stimulus")
        return (uri == CP or local.startswith("qti-")) and local not in _INLINE_QTI \
            and not (el.text or "").strip()

    def walk(el: ET.Element, depth: int, out: list[str]) -> None:
        attrs = "".join(f" {name(k)}={quoteattr(v)}" for k, v in el.attrib.items())
        tag = name(el.tag)
        if not len(el) and not el.text:
            out.append(f"<{tag}{attrs}/>")
        elif pretty(el) and len(el):
            out.append(f"<{tag}{attrs}>")
            for child in el:
                out.append("\n" + "  " * (depth + 1))
                walk(child, depth + 1, out)
            out.append("\n" + "  " * depth + f"</{tag}>")
        else:
            out.append(f"<{tag}{attrs}>{escape(el.text or '')}")
            for child in el:
                walk(child, depth + 1, out)
                out.append(escape(child.tail or ""))
            out.append(f"</{tag}>")

    parts: list[str] = []
    walk(root, 0, parts)
    body = "".join(parts)
    declarations = f' xmlns="{default_ns}"' + "".join(
        f' xmlns:{_PREFIXES[uri]}="{uri}"' for uri in sorted(used) if _PREFIXES[uri] != "xml")
    first = body.index(">") if not body.startswith("<?") else 0
    tag_end = body.index(" ") if " " in body[:first] else first
    body = body[:tag_end] + declarations + body[tag_end:]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _choice_ids(n: int) -> list[str]:
    return [f"choice_{k}" for k in range(1, n + 1)]


def _item_xml(raw: dict, stimuli: dict[str, dict]) -> bytes:
    from assess.services.bank import LIKERT_LABELS

    root = ET.Element(_q("qti-assessment-item"), {
        "identifier": raw["id"], "title": raw["id"], "adaptive": "false", "time-dependent": "false",
        XML_LANG: "id", f"{{{XSI}}}schemaLocation": f"{QTI} {ITEM_XSD}",
    })
    itype = raw["type"]
    if itype == "likert":
        with force_locale("id"):  # the items are written in Indonesian
            standard = [str(label) for label in LIKERT_LABELS]
        texts = [o["text"] for o in raw.get("options") or []] or standard
        scores = [5 - k if raw.get("reverse") else k + 1 for k in range(5)]
    else:
        texts = [o["text"] for o in raw["options"]]
        scores = [o.get("score", 1 if o.get("key") else 0) for o in raw["options"]]
    ids = _choice_ids(len(texts))
    declaration = ET.SubElement(root, _q("qti-response-declaration"), {
        "identifier": "RESPONSE", "cardinality": "single", "base-type": "identifier"})
    if itype in ("mc", "sjt"):
        correct = ET.SubElement(declaration, _q("qti-correct-response"))
        ET.SubElement(correct, _q("qti-value")).text = ids[scores.index(max(scores))]
    if itype != "mc":
        mapping = ET.SubElement(declaration, _q("qti-mapping"), {
            "default-value": "0", "lower-bound": "0", "upper-bound": str(max(scores))})
        for cid, score in zip(ids, scores):
            ET.SubElement(mapping, _q("qti-map-entry"), {"map-key": cid, "mapped-value": str(score)})
    for name, value in (("SCORE", "0"), ("MAXSCORE", str(max(scores)))):
        outcome = ET.SubElement(root, _q("qti-outcome-declaration"), {
            "identifier": name, "cardinality": "single", "base-type": "float"})
        default = ET.SubElement(outcome, _q("qti-default-value"))
        ET.SubElement(default, _q("qti-value")).text = value
    if raw.get("stimulus"):
        stimulus = stimuli[raw["stimulus"]]
        attrs = {"identifier": stimulus["id"], "href": f"../stimuli/{stimulus['id']}.xml"}
        if stimulus.get("title"):
            attrs["title"] = stimulus["title"]
        ET.SubElement(root, _q("qti-assessment-stimulus-ref"), attrs)
    body = ET.SubElement(root, _q("qti-item-body"))
    stem = ET.SubElement(body, _q("div"), {"class": "stem"})
    _append_html(stem, str(render_markdown(raw["stem"])))
    interaction = ET.SubElement(body, _q("qti-choice-interaction"), {
        "response-identifier": "RESPONSE", "max-choices": "1", "min-choices": "0",
        "shuffle": "false" if itype == "likert" else "true"})
    for cid, text in zip(ids, texts):
        choice = ET.SubElement(interaction, _q("qti-simple-choice"), {"identifier": cid})
        _append_html(choice, str(render_inline(text)))
    ET.SubElement(root, _q("qti-response-processing"), {
        "template": MATCH_CORRECT if itype == "mc" else MAP_RESPONSE})
    return _xml_bytes(root, QTI)


def _stimulus_xml(stimulus: dict) -> bytes:
    root = ET.Element(_q("qti-assessment-stimulus"), {
        "identifier": stimulus["id"], "title": stimulus.get("title") or stimulus["id"], XML_LANG: "id",
        f"{{{XSI}}}schemaLocation": f"{QTI} {ITEM_XSD}",
    })
    body = ET.SubElement(root, _q("qti-stimulus-body"))
    _append_html(body, str(render_markdown(stimulus["body"])))
    return _xml_bytes(root, QTI)


def _item_metadata(parent: ET.Element, doc: BankDoc, raw: dict) -> None:
    meta = ET.SubElement(parent, _a("item"), {
        "competency": doc.competency, "type": raw["type"], "level": str(raw["level"]),
        "status": raw.get("status", "draft")})
    if raw["type"] == "likert":
        meta.set("reverse", "true" if raw.get("reverse") else "false")
    if raw.get("subdomain"):
        ET.SubElement(meta, _a("subdomain")).text = raw["subdomain"]
    ET.SubElement(meta, _a("stem")).text = raw["stem"]
    for option in raw.get("options") or []:
        ET.SubElement(meta, _a("option")).text = option["text"]
    irt = raw["irt"]
    attrs = {"model": irt["model"], "a": repr(float(irt.get("a", 1.0)))}
    if irt["model"] in DICHOTOMOUS:
        attrs["b"] = repr(float(irt["b"]))
        if irt["model"] == "3pl":
            attrs["c"] = repr(float(irt["c"]))
    else:
        attrs["thresholds"] = " ".join(repr(float(t)) for t in irt["thresholds"])
    attrs["calibrated"] = "true" if irt.get("calibrated") else "false"
    ET.SubElement(meta, _a("irt"), attrs)


def write_qti(content: BankContent) -> bytes:
    """A QTI 3.0 content package (ZIP) of the content's items and stimuli."""
    manifest = ET.Element(f"{{{CP}}}manifest", {
        "identifier": "assess-item-bank", f"{{{XSI}}}schemaLocation": f"{CP} {CP_XSD}"})
    meta = ET.SubElement(manifest, f"{{{CP}}}metadata")
    ET.SubElement(meta, f"{{{CP}}}schema").text = "QTI Package"
    ET.SubElement(meta, f"{{{CP}}}schemaversion").text = "3.0.0"
    ET.SubElement(manifest, f"{{{CP}}}organizations")
    resources = ET.SubElement(manifest, f"{{{CP}}}resources")
    files: dict[str, bytes] = {}
    for doc in content.docs:
        stimuli = {s["id"]: s for s in doc.stimuli}
        for stimulus in doc.stimuli:
            href = f"stimuli/{stimulus['id']}.xml"
            files[href] = _stimulus_xml(stimulus)
            resource = ET.SubElement(resources, f"{{{CP}}}resource", {
                "identifier": f"stimulus-{stimulus['id']}", "type": STIMULUS_TYPE, "href": href})
            rmeta = ET.SubElement(resource, f"{{{CP}}}metadata")
            smeta = ET.SubElement(rmeta, _a("stimulus"), {"competency": doc.competency})
            if stimulus.get("title"):
                ET.SubElement(smeta, _a("title")).text = stimulus["title"]
            ET.SubElement(smeta, _a("body")).text = stimulus["body"]
            ET.SubElement(resource, f"{{{CP}}}file", {"href": href})
        for raw in doc.items:
            href = f"items/{raw['id']}.xml"
            files[href] = _item_xml(raw, stimuli)
            resource = ET.SubElement(resources, f"{{{CP}}}resource", {
                "identifier": f"item-{raw['id']}", "type": ITEM_TYPE, "href": href})
            rmeta = ET.SubElement(resource, f"{{{CP}}}metadata")
            _item_metadata(rmeta, doc, raw)
            ET.SubElement(resource, f"{{{CP}}}file", {"href": href})
            if raw.get("stimulus"):
                ET.SubElement(resource, f"{{{CP}}}dependency", {"identifierref": f"stimulus-{raw['stimulus']}"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", _xml_bytes(manifest, CP))
        for href, data in files.items():
            archive.writestr(href, data)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- import
def is_qti_package(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(n == "imsmanifest.xml" or n.endswith("/imsmanifest.xml") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


class _Package:
    def __init__(self, archive: zipfile.ZipFile, label: str, problems: list[BankProblem]):
        self.archive = archive
        self.label = label
        self.problems = problems
        self.names = set(archive.namelist())

    def parse(self, name: str) -> Optional[ET.Element]:
        where = f"{self.label}: {name}"
        if name not in self.names:
            self.problems.append(BankProblem(where, None, None, _l("the package has no file %(f)s", f=name)))
            return None
        data = self.archive.read(name)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        if b"\x00" in data or not data.lstrip().startswith(b"<"):  # UTF-8 only: no UTF-16 disguise
            self.problems.append(BankProblem(where, None, None, _l("not well-formed XML: %(e)s", e="UTF-8 expected")))
            return None
        if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
            self.problems.append(BankProblem(where, None, None, _l("XML with a DOCTYPE or entities is refused")))
            return None
        try:
            return safe_fromstring(data)
        except DefusedXmlException:
            self.problems.append(BankProblem(where, None, None, _l("XML with a DOCTYPE or entities is refused")))
            return None
        except ET.ParseError as error:
            self.problems.append(BankProblem(where, None, None, _l("not well-formed XML: %(e)s", e=str(error))))
            return None


def _find(element: ET.Element, name: str) -> Optional[ET.Element]:
    for el in element.iter():
        if _local(el.tag) == name:
            return el
    return None


def _find_all(element: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in element.iter() if _local(el.tag) == name]


def _meta_text(meta: ET.Element, name: str) -> Optional[str]:
    el = meta.find(_a(name))
    return el.text if el is not None and el.text is not None else None


def _same_text(markdown_text: str, element: ET.Element, inline: bool = False) -> bool:
    """Does ``element`` show what ``markdown_text`` renders to (text content, spacing aside)?"""
    probe = ET.Element(_q("div"))
    _append_html(probe, str((render_inline if inline else render_markdown)(markdown_text)))
    return _text_of(probe) == _text_of(element)


def _next_ids(competency: str, taken: set[str]):
    numbers = {int(code.rsplit("-", 1)[1]) for code in taken
               if code.startswith(competency + "-") and code.rsplit("-", 1)[1].isdigit()}
    n = max(numbers, default=0)
    while True:
        n += 1
        code = f"{competency}-{n:0{ITEM_ID_DIGITS[0]}d}"
        if code not in taken:
            taken.add(code)
            yield code


def _provisional_irt(itype: str, model: Optional[str], categories: int) -> dict:
    if itype == "mc":
        model = model if model in DICHOTOMOUS else "2pl"
        irt: dict[str, Any] = {"model": model, "a": 1.0, "b": 0.0}
        if model == "3pl":
            irt["c"] = 0.2
        return irt
    model = model if model in ("grm", "gpcm") else "grm"
    k = categories - 1
    return {"model": model, "a": 1.0,
            "thresholds": [round(-1.5 + 3.0 * i / (k - 1), 2) if k > 1 else 0.0 for i in range(k)]}


def read_qti(data: bytes, label: str, *, default_competency: Optional[str] = None) -> BankContent:
    """A QTI 3.0 (or 2.x) package as bank content."""
    archive, problems = safe_zip(data, label)
    content = BankContent(problems=problems)
    if archive is None:
        return content
    package = _Package(archive, label, content.problems)
    manifest_name = min((n for n in package.names if n == "imsmanifest.xml" or n.endswith("/imsmanifest.xml")),
                        key=len)
    base = dirname(manifest_name)
    manifest = package.parse(manifest_name)
    if manifest is None:
        return content
    competencies = {c.code: c for c in db.session.execute(select(Competency)).scalars()}
    taken = set(db.session.execute(select(Item.code)).scalars())
    docs: dict[str, BankDoc] = {}
    stimuli_by_href: dict[str, dict] = {}
    allocators: dict[str, Any] = {}
    resources = [r for r in manifest.iter() if _local(r.tag) == "resource"]
    stimulus_meta = {}
    for resource in resources:
        if (resource.get("type") or "").startswith("imsqti_stimulus_xml"):
            smeta = resource.find(f".//{{{ASSESS}}}stimulus")
            stimulus_meta[normpath(join(base, resource.get("href") or ""))] = smeta

    def doc_for(code: str) -> BankDoc:
        if code not in docs:
            docs[code] = BankDoc(file=label, competency=code)
        return docs[code]

    def load_stimulus(href: str, competency: str, where: str) -> Optional[str]:
        if href in stimuli_by_href:
            return stimuli_by_href[href]["id"]
        root = package.parse(href)
        if root is None:
            return None
        body = _find(root, "qti-stimulus-body")
        if body is None:
            content.problems.append(BankProblem(where, None, "stimulus", _l("the stimulus has no body")))
            return None
        meta = stimulus_meta.get(href)
        ident = root.get("identifier") or ""
        if not ident.startswith(competency + "-"):
            ident = f"{competency}-S{len(stimuli_by_href) + 1:02d}"
        text = _meta_text(meta, "body") if meta is not None else None
        if text is None or not _same_text(text, body):
            text = _to_markdown(body)
        title = _meta_text(meta, "title") if meta is not None else root.get("title")
        entry = {"id": ident, **({"title": title} if title and title != ident else {}), "body": text}
        stimuli_by_href[href] = entry
        doc_for(competency).stimuli.append(entry)
        return ident

    for resource in resources:
        rtype = resource.get("type") or ""
        if not rtype.startswith("imsqti_item_xml"):
            continue
        href = normpath(join(base, resource.get("href") or ""))
        where = f"{label}: {href}"
        root = package.parse(href)
        if root is None:
            continue
        identifier = root.get("identifier") or resource.get("identifier") or "?"
        meta = resource.find(f".//{{{ASSESS}}}item")

        def bad(fld, msg, identifier=identifier, where=where):
            content.problems.append(BankProblem(where, identifier, fld, msg))

        interactions = [el for el in root.iter() if _local(el.tag).endswith("-interaction")]
        if len(interactions) != 1 or _local(interactions[0].tag) != "qti-choice-interaction" \
                or (_attr(interactions[0], "max-choices", "1") or "1") != "1":
            bad("qti-item-body", _l("only items with one single-choice interaction (choice, max-choices 1) can be imported"))
            continue
        interaction = interactions[0]
        choices = [c for c in interaction if _local(c.tag) == "qti-simple-choice"]
        choice_ids = [c.get("identifier") for c in choices]
        response_id = _attr(interaction, "response-identifier", "RESPONSE")
        declaration = next((d for d in _find_all(root, "qti-response-declaration")
                            if d.get("identifier") == response_id), None)
        if declaration is None:
            bad("qti-response-declaration", _l("the interaction has no response declaration"))
            continue
        correct = [v.text.strip() for v in _find_all(declaration, "qti-value") if v.text]
        mapping = {_attr(e, "map-key"): _attr(e, "mapped-value") for e in _find_all(declaration, "qti-map-entry")}
        # Type and scoring from the response declaration.
        itype = meta.get("type") if meta is not None else None
        scores: list[Any] = []
        if mapping:
            try:
                scores = [int(float(mapping.get(cid, "0"))) for cid in choice_ids]
            except ValueError:
                bad("qti-mapping", _l("mapped values must be numbers"))
                continue
            if itype is None:
                itype = "sjt"
        elif correct:
            itype = itype or "mc"
            if itype != "mc":
                bad("qti-response-declaration", _l("this item type needs a mapping of options to points"))
                continue
        else:
            bad("qti-response-declaration", _l("no correct response and no mapping: the item cannot be scored"))
            continue
        # Where the item belongs.
        competency = meta.get("competency") if meta is not None else default_competency
        if not competency:
            bad("competency", _l("this item comes from another tool: choose the competency to import it into"))
            continue
        if competency not in competencies:
            bad("competency", _l("unknown competency %(c)r", c=competency))
            continue
        # Texts: our Markdown while it still matches the item body, else the body itself.
        body = _find(root, "qti-item-body")
        stem_el = ET.Element(_q("div"))
        stem_el.text = body.text if body is not None else None
        for child in list(body) if body is not None else []:
            if child is interaction:
                prompt = next((c for c in interaction if _local(c.tag) == "qti-prompt"), None)
                if prompt is not None:
                    stem_el.append(prompt)
                continue
            stem_el.append(child)
        stem = _meta_text(meta, "stem") if meta is not None else None
        if stem is None or not _same_text(stem, stem_el):
            stem = _to_markdown(stem_el)
        meta_options = [el.text or "" for el in meta.findall(_a("option"))] if meta is not None else []
        texts = []
        for n, choice in enumerate(choices):
            own = meta_options[n] if n < len(meta_options) and len(meta_options) == len(choices) else None
            texts.append(own if own is not None and _same_text(own, choice, inline=True) else _to_markdown(choice))
        raw: dict[str, Any] = {"type": itype}
        if meta is not None:
            level = meta.get("level")
            raw["level"] = int(level) if level and level.isdigit() else level
            if _meta_text(meta, "subdomain"):
                raw["subdomain"] = _meta_text(meta, "subdomain")
            raw["status"] = meta.get("status") or "draft"
        else:
            raw["level"] = 3
            raw["status"] = "draft"
        raw["stem"] = stem
        if itype == "mc":
            raw["options"] = [{"text": t, **({"key": True} if cid in correct else {})}
                              for t, cid in zip(texts, choice_ids)]
        elif itype == "sjt":
            raw["options"] = [{"text": t, "score": s} for t, s in zip(texts, scores)]
        else:
            if len(scores) != 5 or sorted(scores) != [1, 2, 3, 4, 5] or scores not in ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]):
                bad("qti-mapping", _l("a Likert item maps its five options to 1..5 in order, or 5..1 when reverse-keyed"))
                continue
            raw["reverse"] = scores[0] == 5
            if meta_options:  # own labels; otherwise the standard five, whatever their language
                raw["options"] = [{"text": t} for t in texts]
        # Stimulus.
        ref = _find(root, "qti-assessment-stimulus-ref")
        if ref is not None and ref.get("href"):
            sid = load_stimulus(normpath(join(dirname(href), ref.get("href"))), competency, where)
            if sid:
                raw["stimulus"] = sid
        # Parameters.
        irt_meta = meta.find(_a("irt")) if meta is not None else None
        if irt_meta is not None:
            irt: dict[str, Any] = {"model": irt_meta.get("model")}
            try:
                irt["a"] = float(irt_meta.get("a", "1"))
                for key in ("b", "c"):
                    if irt_meta.get(key) is not None:
                        irt[key] = float(irt_meta.get(key))
                if irt_meta.get("thresholds"):
                    irt["thresholds"] = [float(t) for t in irt_meta.get("thresholds").split()]
            except ValueError:
                bad("irt", _l("IRT parameters in the metadata must be numbers"))
                continue
            if irt_meta.get("calibrated") == "true":
                irt["calibrated"] = True
            raw["irt"] = irt
        else:
            k = 5 if itype == "likert" else len(choices)
            raw["irt"] = _provisional_irt(itype, competencies[competency].irt_model, k)
        # Identifier.
        if meta is not None or (identifier.startswith(competency + "-") and identifier[len(competency) + 1:].isdigit()):
            raw["id"] = identifier
        else:
            allocator = allocators.setdefault(competency, _next_ids(competency, taken))
            raw["id"] = next(allocator)
        doc = doc_for(competency)
        raw = {"id": raw.pop("id"), **raw}
        doc.items.append(raw)
    if not docs and not content.problems:
        content.problems.append(BankProblem(label, None, None, _l("the package holds no QTI items")))
    content.docs = list(docs.values())
    return content
