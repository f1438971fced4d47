"""Issue 12, item 2: the knowledge base is data — at least 60 sourced entries, each listed in docs/analyzer.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import knowledge
from analyzer.signatures import CATALOGUE, CATALOGUE_NAMES

DOC = Path(__file__).resolve().parents[2] / "docs" / "analyzer.md"


def test_at_least_sixty_entries_each_with_cause_fix_and_source() -> None:
    entries = knowledge.load()
    assert len(entries) >= 60
    for entry in entries:
        assert entry.title and entry.root_cause and entry.fix and entry.source, entry.id
        assert entry.symptoms or entry.matcher, entry.id
    sourced = [e for e in entries if e.url.startswith("https://www.cisco.com/")]
    assert len(sourced) >= 60


def test_the_catalogue_scenarios_are_entries_and_named_by_their_scenario() -> None:
    by_scenario = {e.scenario for e in knowledge.load() if e.scenario}
    assert set(CATALOGUE_NAMES) - {"healthy-login"} <= by_scenario
    assert {s.id for s in CATALOGUE} >= set(CATALOGUE_NAMES) - {"healthy-login"}


def test_field_entries_cover_the_topics_of_issue_12() -> None:
    topics = {e.topic for e in knowledge.load()}
    assert {"certificates", "traversal", "dns", "sip", "sso", "users", "client", "imp", "unity"} <= topics


def test_docs_list_every_entry_with_its_source() -> None:
    text = DOC.read_text(encoding="utf-8")
    for entry in knowledge.load():
        assert f"`{entry.id}`" in text, entry.id
        if entry.url:
            assert entry.url in text, entry.id


def test_a_broken_entry_is_named_with_its_file_and_key() -> None:
    with pytest.raises(knowledge.KnowledgeError, match=r"certificates\.toml, entry 'x': 'fix' is missing"):
        knowledge._entry({"id": "x", "title": "t", "root_cause": "r", "source": "s", "priority": 1,
                          "symptoms": [{"regex": "a"}]}, "certificates")
    with pytest.raises(knowledge.KnowledgeError, match="product 'Phone'"):
        knowledge._entry({"id": "x", "title": "t", "root_cause": "r", "fix": "f", "source": "s", "priority": 1,
                          "symptoms": [{"product": "Phone", "regex": "a"}]}, "sip")


def test_symptom_regexes_are_case_insensitive_and_prefiltered_by_literals() -> None:
    from analyzer.facts import literals
    pattern = knowledge.compile_lower(r"Peer.s TLS certificate identity\D")
    assert pattern.search("peer's tls certificate identity was unacceptable".lower())
    assert literals(pattern.pattern) == ["s tls certificate identity"]
    assert literals("a|bb") is None
