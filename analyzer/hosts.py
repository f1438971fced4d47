"""Which Expressway is which: Expressway-E or Expressway-C, decided per host from what its lines say.

Both run the same software and write the same formats, and a bundle or a pasted excerpt rarely says which box it
came from. The lines do: only Expressway-C receives requests with ``Last-via-addr`` (the E it came through), runs
``edgeconfigprovisioning`` and ``credentialmanager``, and its XCP router queries the IM&P auth component (``sdns_plugin``,
``connect-auth``); Expressway-E answers with ``Server: CE_E``, forwards with a ``TrackingID`` to C, and its XCP
logs client buffers (``MIOByteSource``, ``jsmcp``). The host name decides only a tie (``…e01`` / ``…c01``, ``expe``).
"""

from __future__ import annotations

import re
from collections import Counter

from analyzer import tolerant
from analyzer.model import CORE, EDGE, Corpus

_C_PROCESSES = {"edgeconfigprovisioning", "credentialmanager"}
VOTES_PER_HOST = 5000
_NAME_E = re.compile(r"(?:e\d*|edge|exp-?e\d*)$", re.I)
_NAME_C = re.compile(r"(?:c\d*|core|exp-?c\d*)$", re.I)
# Names that say it outright: exp-c, expc01, xwayc, vcs-c, RTP-TBTP-EXPRWY-C, ExpresswayE, expe.example.com
_SAYS_C = re.compile(r"(?:exp\w*|xway|vcs|rwy|wy|^)[-_]?c\d{0,2}$|[-_]c\d{0,2}$|core|internal", re.I)
_SAYS_E = re.compile(r"(?:exp\w*|xway|vcs|rwy|wy|^)[-_]?e\d{0,2}$|[-_]e\d{0,2}$|edge|dmz", re.I)


def classify(corpus: Corpus) -> None:
    """Set ``node`` on every Expressway event and fill ``corpus.hosts`` (host → role).

    A record read without its host (an excerpt that kept only the fields) is placed by its own content, and when that
    says nothing, by the other such records of its file."""
    votes: dict[str, Counter[str]] = {}
    counted: Counter[str] = Counter()
    for event in corpus.events:
        if event.fmt not in ("expressway", "xcp"):
            continue
        host = event.host
        counted[host] += 1
        if counted[host] > VOTES_PER_HOST:  # a host's role is settled long before this; bundles hold millions
            continue
        vote = votes.setdefault(host, Counter())
        fields = event.fields
        if fields.get("process") in _C_PROCESSES or "Last-via-addr" in fields:
            vote[CORE] += 3
        elif event.fmt == "xcp":
            detail = fields.get("Detail", "")
            if "sdns_plugin" in detail or "connect-auth" in detail and "type='result'" in detail:
                vote[CORE] += 1
            elif "MIOByteSource" in fields.get("CodeLocation", "") or "Got Buffer" in detail:
                vote[EDGE] += 1
        elif fields.get("Detail") == "Sending Request" and "TrackingID" in fields \
                and fields.get("Dst-port") not in ("6970", "6972", "8443", "5090", "5091"):
            vote[EDGE] += 2
        elif event.block and "Server: CE_E" in event.block:
            vote[EDGE] += 1
        elif fields.get("Detail") == "Receive Request" and "Last-via-addr" not in fields and "Msg" in fields:
            vote[EDGE] += 1
        if "guess" in fields:
            hint = tolerant.c_hint(event)
            if hint > 0:
                vote[CORE] += hint
            elif hint < 0:
                vote[EDGE] -= hint
    for host, vote in votes.items():
        short = host.split(".")[0]
        if _SAYS_C.search(short) and not _SAYS_E.search(short):
            vote[CORE] += 2
        elif _SAYS_E.search(short) and not _SAYS_C.search(short):
            vote[EDGE] += 2
        if vote[CORE] > vote[EDGE]:
            role = CORE
        elif vote[EDGE] > vote[CORE]:
            role = EDGE
        elif _NAME_C.search(short):
            role = CORE
        else:
            role = EDGE if _NAME_E.search(short) or not _NAME_C.search(short) else CORE
        corpus.hosts[host] = role
    for event in corpus.events:
        if event.fmt in ("expressway", "xcp"):
            if event.host == "expressway" and "guess" in event.fields:
                hint = tolerant.c_hint(event)
                event.node = CORE if hint > 0 else EDGE if hint < 0 else corpus.hosts.get(event.host, EDGE)
            else:
                event.node = corpus.hosts.get(event.host, EDGE)
