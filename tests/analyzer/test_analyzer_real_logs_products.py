"""Issue 12: on real excerpts the analyzer places each record on the product that wrote it, from the record itself
(a pasted file has a neutral name), and answers honestly on real logs of healthy exchanges.

The excerpts are those of ``real_logs/`` (failures) and ``real_logs_healthy/`` (baselines published beside them);
each file's name says which product wrote it, as in ``../shared/reference/real-logs`` (``expressway.log``: an
Expressway whose records cannot say which one, e.g. a redacted host and a port both use).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from analyzer.diagnose import analyze, render_text
from analyzer.model import CORE, CUCM, EDGE, IDP, IMP, JABBER

HERE = Path(__file__).resolve().parent
PRODUCT_OF_FILE = {"expressway-e.log": {EDGE}, "expressway-c.log": {CORE}, "jabber.log": {JABBER}, "endpoint.log": {JABBER},
                   "cucm.log": {CUCM}, "imp.log": {IMP}, "idp.log": {IDP},  # the SAML IdP: AD FS event text (issue 14)
                   # an excerpt whose records do not say which Expressway wrote them (a redacted host, a port both use)
                   "expressway.log": {EDGE, CORE},
                   # a bare SIP message as a document prints it: no product's log line around it
                   "sip.log": set(),
                   # a bare SAML status or SSO error text as a document prints it (IdP response, SSO test page)
                   "saml.log": set()}
# log4j categories both CUCM and IM and Presence write (platform utilities): the line alone cannot say which node.
SHARED_CATEGORIES = ("utilities.", "dbl.")  # dbl: the database layer library, in every CUCM and IM&P service
HEALTHY = sorted(p for p in (HERE / "real_logs_healthy").iterdir() if (p / "case.json").exists())


def _excerpts() -> list[Path]:
    return sorted(f for case in (HERE / "real_logs").iterdir() for f in case.glob("*.log"))


@pytest.mark.parametrize("excerpt", _excerpts(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_real_excerpt_is_placed_on_the_product_that_wrote_it(excerpt: Path, tmp_path: Path) -> None:
    """Expressway-C is never read as Expressway-E (nor Jabber as CUCM): the file is pasted under a neutral name."""
    pasted = Path(shutil.copy(excerpt, tmp_path / "pasted.log"))
    nodes = {event.node for event in analyze([pasted]).corpus.events
             if not event.fields.get("category", "").startswith(SHARED_CATEGORIES)}
    assert nodes & PRODUCT_OF_FILE[excerpt.name] or not PRODUCT_OF_FILE[excerpt.name], nodes
    assert nodes <= PRODUCT_OF_FILE[excerpt.name] | {""}, nodes


def test_there_are_real_healthy_baselines() -> None:
    assert len(HEALTHY) >= 2


def test_a_real_healthy_log_wrapped_by_a_mail_client_is_still_given_no_cause(tmp_path: Path) -> None:
    """Undoing a mail client's wrap (:func:`analyzer.normalize.unpaste`) joins lines, never invents an error."""
    for case in HEALTHY:
        logs = []
        for i, log in enumerate(sorted(case.glob("*.log"))):
            wrapped = "\n".join("> " + piece for line in log.read_text(encoding="utf-8").splitlines()
                                for piece in textwrap.wrap(line, 72, break_long_words=False) or [""])
            logs.append(tmp_path / f"{case.name}-{i}.log")
            logs[-1].write_text(wrapped, encoding="utf-8")
        report = analyze(logs)
        assert report.corpus.events and not report.issues, (case.name, [f.id for f in report.issues])


@pytest.mark.parametrize("case", HEALTHY, ids=lambda p: p.name)
def test_a_real_healthy_log_is_read_and_given_no_invented_cause(case: Path, tmp_path: Path) -> None:
    spec = json.loads((case / "case.json").read_text())
    assert {"source", "title", "product"} <= spec.keys()
    logs = [Path(shutil.copy(p, tmp_path / f"pasted-{i}.log")) for i, p in enumerate(sorted(case.glob("*.log")))]
    report = analyze(logs)
    text = render_text(report)
    assert report.corpus.events and spec["product"] in report.corpus.nodes(), text
    assert not any("no line in a known log format" in problem for problem in report.corpus.problems)
    assert not report.issues, text
    assert "no issue found" in text and spec["product"] in text.splitlines()[0]
