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

from analyzer.model import CORE, EDGE, Corpus

_C_PROCESSES = {"edgeconfigprovisioning", "credentialmanager"}
_NAME_E = re.compile(r"(?:e\d*|edge|exp-?e\d*)$", re.I)
_NAME_C = re.compile(r"(?:c\d*|core|exp-?c\d*)$", re.I)


def classify(corpus: Corpus) -> None:
    """Set ``node`` on every Expressway event and fill ``corpus.hosts`` (host → role)."""
    votes: dict[str, Counter[str]] = {}
    for event in corpus.events:
        if event.fmt not in ("expressway", "xcp"):
            continue
        vote = votes.setdefault(event.host, Counter())
        fields = event.fields
        if fields.get("process") in _C_PROCESSES or "Last-via-addr" in fields:
            vote[CORE] += 3
        elif event.fmt == "xcp":
            detail = fields.get("Detail", "")
            if "sdns_plugin" in detail or "connect-auth" in detail and "type='result'" in detail:
                vote[CORE] += 1
            elif "MIOByteSource" in fields.get("CodeLocation", "") or "Got Buffer" in detail:
                vote[EDGE] += 1
        elif fields.get("Detail") == "Sending Request" and "TrackingID" in fields:
            vote[EDGE] += 2
        elif event.block and "Server: CE_E" in event.block:
            vote[EDGE] += 1
        elif fields.get("Detail") == "Receive Request" and "Last-via-addr" not in fields and "Msg" in fields:
            vote[EDGE] += 1
    for host, vote in votes.items():
        short = host.split(".")[0]
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
            event.node = corpus.hosts.get(event.host, EDGE)
