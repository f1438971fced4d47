"""The knowledge base: real MRA failures as data, one TOML file per topic in this folder.

Each ``[[entry]]`` holds what an engineer needs to recognise and fix one failure::

    id, title, root_cause, fix      plain words; the fix names the menu path or command
    source, url                     the public Cisco document it comes from
    scenario                        the catalogue scenario that reproduces it ('' when the lab cannot yet)
    priority                        specific symptoms outrank generic ones (the first Issue is the root cause)
    symptoms                        [{product, release, regex}]: how a line of that product and release shows it
    requires                        regexes that must also appear somewhere in the logs (optional)
    matcher                         a test in analyzer/matchers.py, for symptoms a single line cannot show (optional)
    basis                           'lab' (checked on the lab's scenario), 'facts' (mra-facts only) or 'field' (default:
                                    written from the real log lines of ``source``)

Regexes are case-insensitive (they run over lower-cased text) and match within one record (a line and its HTTPMSG block). ``product`` is the product
that writes the line — ``Jabber``, ``client`` (Jabber or an endpoint), ``Expressway-E``, ``Expressway-C``,
``Expressway`` (either), ``CUCM``, ``IM&P``, ``Unity``, ``IdP`` (the SAML identity provider) or ``any``; a record that could not be placed matches any.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from analyzer.model import CORE, CUCM, EDGE, IDP, IMP, JABBER, UNITY

HERE = Path(__file__).resolve().parent
PRODUCTS: dict[str, frozenset[str]] = {
    "Jabber": frozenset({JABBER}), "client": frozenset({JABBER}), "Expressway-E": frozenset({EDGE}),
    "Expressway-C": frozenset({CORE}), "Expressway": frozenset({EDGE, CORE}), "CUCM": frozenset({CUCM}),
    "IM&P": frozenset({IMP}), "Unity": frozenset({UNITY}), "IdP": frozenset({IDP}), "any": frozenset(),
}


@dataclass(frozen=True)
class Symptom:
    product: str
    release: str
    pattern: re.Pattern[str]

    @property
    def nodes(self) -> frozenset[str]:
        return PRODUCTS[self.product]


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    root_cause: str
    fix: str
    source: str
    url: str
    scenario: str
    priority: int
    symptoms: tuple[Symptom, ...] = ()
    requires: tuple[re.Pattern[str], ...] = ()
    matcher: str = ""
    basis: str = "field"
    topic: str = ""

    @property
    def document(self) -> str:
        return f"{self.source} — {self.url}" if self.url else self.source


def compile_lower(regex: str) -> re.Pattern[str]:
    """A case-insensitive regex for lower-cased text: the pattern's own letters are lowered (escapes kept as they are,
    ``\\D`` stays ``\\D``), so it runs without ``re.IGNORECASE`` — which would stop the regex engine from looking for
    its literal prefix and makes a search over a large bundle several times slower."""
    out, escaped = [], False
    for char in regex:
        out.append(char if escaped else char.lower())
        escaped = not escaped and char == "\\"
    return re.compile("".join(out))


class KnowledgeError(ValueError):
    """An entry that does not hold what every entry must: names the file, the entry and the key."""


def _entry(raw: dict[str, object], topic: str) -> Entry:
    where = f"analyzer/knowledge/{topic}.toml, entry {raw.get('id', '?')!r}"
    for key in ("id", "title", "root_cause", "fix", "source", "priority"):
        if not raw.get(key):
            raise KnowledgeError(f"{where}: '{key}' is missing")
    symptoms = []
    for item in raw.get("symptoms", []):  # type: ignore[union-attr]
        product = item.get("product", "any")
        if product not in PRODUCTS:
            raise KnowledgeError(f"{where}: product {product!r} is not one of {', '.join(PRODUCTS)}")
        try:
            pattern = compile_lower(item["regex"])
        except (KeyError, re.error) as exc:
            raise KnowledgeError(f"{where}: bad symptom regex ({exc})") from exc
        symptoms.append(Symptom(product, item.get("release", ""), pattern))
    if not symptoms and not raw.get("matcher"):
        raise KnowledgeError(f"{where}: needs 'symptoms' or a 'matcher'")
    return Entry(str(raw["id"]), str(raw["title"]), str(raw["root_cause"]), str(raw["fix"]), str(raw["source"]),
                 str(raw.get("url", "")), str(raw.get("scenario", "")), int(raw["priority"]),  # type: ignore[arg-type]
                 tuple(symptoms), tuple(compile_lower(r) for r in raw.get("requires", [])),  # type: ignore[union-attr]
                 str(raw.get("matcher", "")), str(raw.get("basis", "field")), topic)


@lru_cache(maxsize=1)
def load() -> tuple[Entry, ...]:
    """Every entry of every topic file, lab first, then the topics in name order."""
    files = sorted(HERE.glob("*.toml"), key=lambda p: (p.stem != "lab", p.stem))
    entries: list[Entry] = []
    seen: set[str] = set()
    for path in files:
        for raw in tomllib.loads(path.read_text(encoding="utf-8")).get("entry", []):
            entry = _entry(raw, path.stem)
            if entry.id in seen:
                raise KnowledgeError(f"analyzer/knowledge/{path.name}: entry id {entry.id!r} is used twice")
            seen.add(entry.id)
            entries.append(entry)
    return tuple(entries)


def markdown() -> str:
    """The table of every entry and its source that docs/analyzer.md carries (``python -m analyzer.knowledge``)."""
    rows = ["| id | topic | catalogue scenario | symptoms (product: regex) | source |", "| --- | --- | --- | --- | --- |"]
    for entry in load():
        symptoms = "; ".join(f"{s.product}: `{s.pattern.pattern[:70].replace('|', '¦')}`" for s in entry.symptoms)
        if entry.matcher:
            symptoms = f"matcher `{entry.matcher}`" + (f"; {symptoms}" if symptoms else "")
        source = entry.source.replace("|", "¦")
        source = f"[{source}]({entry.url})" if entry.url else source
        rows.append(f"| `{entry.id}` | {entry.topic} | {entry.scenario or '—'} | {symptoms} | {source} |")
    return "\n".join(rows) + "\n"
