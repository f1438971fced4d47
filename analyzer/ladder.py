"""Ladder diagrams of one session: terminal text, Mermaid ``sequenceDiagram``, and a self-contained HTML page.

The participants are the nodes the session touched, left to right as a request travels (Jabber, E, C, CUCM, IM&P),
grouped in the zones an MRA deployment has — Internet, DMZ, Internal — because which side of a firewall an arrow
stops on is half of a diagnosis. Arrows are numbered the way the seed's request sequence is (``{1: get_edge_sso}``).
The HTML page carries everything inline (no script or style from anywhere else), so it can be attached to a case and
opened offline; clicking an arrow shows the full HTTPMSG/XML that the log holds for it.
"""

from __future__ import annotations

import datetime as dt
import html
import json

from urllib.parse import urlsplit

from analyzer.model import CORE, CUCM, EDGE, IMP, JABBER, NODE_ORDER, SHORT, UNITY, ZONES, Message, Session
from common.textfit import cut

COLUMN = 16
# The names `mrasim run` gives Expressway-C's own calls (scenarios/runner.py INTERNAL_NAMES; the analyzer may not import
# scenarios): the same names make the same numbers.
INTERNAL_NAMES = {
    "/cucm-uds/clusterUser": "edgeconfigprovision", "/cucm-uds/servers": "uds_servers",
    "/ssosp/token/authorize_proxy": "authorize_proxy", "/ssosp/token/access_token": "access_token",
    "/OAuthvalidator": "OAuthvalidator", "/ssosp/token/authz_keys": "authz_keys",
}


def step_numbers(session: Session) -> list[str]:
    """``{n: name}`` for the arrows `mrasim run`'s table numbers, "" for the rest: one numbering for the run table,
    the ladders and docs/flow.md (the seed's ``{1: get_edge_sso}`` … ``{8: OAuthvalidator}``).

    Each request Jabber sends to Expressway-E takes the next number; so does each call Expressway-C's edge config
    provisioning makes on behalf of an HTTP step (``INTERNAL_NAMES``: UDS lookups, authorize_proxy, the token request,
    the OAuthvalidator), except one named like the client step that caused it (C's leg of ``access_token``), which the
    table shows under that step. Proxied requests (C passing a UDS request through) and XCP routing are not numbered,
    as in the table."""
    out, number, current = [], 0, ""
    for message in session.messages:
        tag = ""
        if not message.note and message.src == JABBER and message.dst == EDGE:
            number += 1
            current = message.step or message.label.split(" ")[-1]
            tag = f"{{{number}: {_run_name(current)}}}"
        elif message.src == CORE and message.status is None and (
                not message.note and message.dst in (CUCM, IMP, UNITY)
                or message.dst == CORE and "/OAuthvalidator" in message.label):
            path = urlsplit(message.label.split(" ", 1)[-1]).path
            name = INTERNAL_NAMES.get(path, "")
            if name and name != current and not current.startswith("xmpp"):
                number += 1
                tag = f"{{{number}: {name}}}"
        out.append(tag)
    return out


def _run_name(step: str) -> str:
    """The name `mrasim run` gives a phone-service step (lab/siprun.py): ``cnf.xml`` for the device's configuration
    file (``CSFAOKANLAWON.cnf.xml``), ``REGISTER`` for a SIP registration."""
    if step.endswith(".cnf.xml"):
        return "cnf.xml"
    return "REGISTER" if step == "sip register" else step


def _numbered(label: str, tag: str) -> str:
    return f"{tag} {label}" if tag else label
_ALIAS = {"Jabber": "J", "Expressway-E": "E", "Expressway-C": "C", "CUCM": "U", "IM&P": "P", "Unity": "V"}


def participants(session: Session) -> list[str]:
    used = {m.src for m in session.messages} | {m.dst for m in session.messages}
    return [node for node in NODE_ORDER if node in used]


def _clock(stamp: float | None) -> str:
    if stamp is None:
        return "--:--:--.---"
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def _status(message: Message) -> str:
    if message.note:
        return ""
    return "✗" if message.failed else ""


def render_text(session: Session, width: int = 60, room: int | None = None) -> str:
    """Numbered arrows between the node columns, each with its label, status and time.

    ``room`` (the terminal's width) narrows the node columns (down to 8) and shortens each label so its line fits,
    cut after a whole word; without it a label is cut at ``width`` characters.
    """
    nodes = participants(session)
    column = COLUMN if room is None else max(8, min(COLUMN, (room - 21 - 30) // max(len(nodes), 1)))
    col = {node: i * column + column // 2 for i, node in enumerate(nodes)}
    span = len(nodes) * column
    head = "".join(SHORT[n].center(column) for n in nodes)
    lines = [session.summary(), "", f"{'':>4} {'time (UTC)':<12}  {head}"]
    tags = step_numbers(session)
    for number, message in enumerate(session.messages, 1):
        row = [" "] * span
        for x in col.values():
            row[x] = "|"
        a, b = col[message.src], col[message.dst]
        if a == b:
            row[a] = "*"
        else:
            lo, hi = sorted((a, b))
            for x in range(lo + 1, hi):
                row[x] = "─"
            row[b - 1 if b > a else b + 1] = "▶" if b > a else "◀"
            row[a] = "+"
        status = _status(message)
        fits = width if room is None else max(room - 21 - span - 1 - len(status), 4)
        label = cut(_numbered(message.label, tags[number - 1]), fits)
        lines.append(f"{number:>4} {_clock(message.time):<12}  {''.join(row)}  {label} {status}".rstrip())
    return "\n".join(lines) + "\n"


def render_json(session: Session) -> str:
    """The session's arrows as data (``mrasim ladder --json``), numbered as in the other formats."""
    return json.dumps({"session": session.number, "summary": session.summary(), "messages": [
        {"number": number, "src": m.src, "dst": m.dst, "label": m.label, "time": m.time, "status": m.status,
         "failed": m.failed, "note": m.note, "txn": m.txn, "tracking": m.tracking}
        for number, m in enumerate(session.messages, 1)]}, indent=2) + "\n"


def _mermaid_text(text: str) -> str:
    out = text.replace("#", "#35;").replace(";", "#59;").replace("<", "#lt;").replace(">", "#gt;")
    return out.replace("#35#59;", "#35;").replace("\n", " ")[:120]


def render_mermaid(session: Session) -> str:
    """A Mermaid ``sequenceDiagram`` with the zones as boxes."""
    nodes = participants(session)
    lines = ["sequenceDiagram", f"    title {_mermaid_text(session.summary())}"]
    for zone, colour in (("Internet", "rgb(255,240,240)"), ("DMZ", "rgb(255,250,220)"), ("Internal", "rgb(230,245,255)")):
        members = [n for n in nodes if ZONES[n] == zone]
        if not members:
            continue
        lines.append(f"    box {colour} {zone}")
        lines.extend(f"        participant {_ALIAS[n]} as {n}" for n in members)
        lines.append("    end")
    tags = step_numbers(session)
    for number, message in enumerate(session.messages, 1):
        label = _mermaid_text(_numbered(message.label, tags[number - 1] or str(number)) + (" ✗" if message.failed else ""))
        src, dst = _ALIAS[message.src], _ALIAS[message.dst]
        if message.note:
            lines.append(f"    Note over {src}: {label}")
        elif message.status is not None or message.src != message.dst and NODE_ORDER.index(message.src) > \
                NODE_ORDER.index(message.dst):
            lines.append(f"    {src}-->>{dst}: {label}")
        else:
            lines.append(f"    {src}->>{dst}: {label}")
    return "\n".join(lines) + "\n"


_STYLE = """
body{font:13px system-ui,sans-serif;margin:0;display:flex;height:100vh}
#diagram{flex:0 0 760px;overflow:auto;padding:8px}#side{flex:1;border-left:1px solid #ccc;overflow:auto;padding:8px}
#legend{font-size:12px;margin:4px 0 8px 0}.k{font-family:monospace}.nb{background:#ffc;border:1px solid #bb8}
.tok{padding:0 4px;border-radius:3px}.tok.access,.access text{color:#05a;fill:#05a}
.tok.refresh,.refresh text{color:#a50;fill:#a50}.tok.access{background:#e0efff}.tok.refresh{background:#ffeedd}
pre{white-space:pre-wrap;word-break:break-all;font:12px ui-monospace,monospace;background:#f7f7f7;padding:6px}
.msg{cursor:pointer}.msg:hover text{font-weight:bold}.msg.sel text{fill:#06c}
.fail line,.fail text{stroke:#c00;fill:#c00}.note rect{fill:#ffc;stroke:#bb8}
h1{font-size:15px;margin:4px 0}ul{margin:0 0 6px 0;padding-left:18px}
"""
_SCRIPT = """
const data = JSON.parse(document.getElementById('messages').textContent);
function show(i) {
  document.querySelectorAll('.msg.sel').forEach(e => e.classList.remove('sel'));
  const g = document.querySelector('.msg[data-i="' + i + '"]'); if (g) g.classList.add('sel');
  const m = data[i];
  document.getElementById('title').textContent = (i + 1) + '. ' + m.src + ' → ' + m.dst + ': ' + m.label;
  document.getElementById('meta').textContent = m.meta;
  document.getElementById('detail').textContent = m.detail || '(the log holds no message body for this arrow)';
}
document.querySelectorAll('.msg').forEach(g => g.addEventListener('click', () => show(+g.dataset.i)));
"""


_LEGEND = ("<div id=\"legend\"><b>Legend</b> · <span class=\"k\">──▶</span> request · <span class=\"k\">- - ▶</span> "
           "answer · <span style=\"color:#c00\">red</span> failed (4xx/5xx) · <span class=\"nb\">yellow box</span> a "
           "node's own log line (note) · <span class=\"tok access\">access token</span> · <span class=\"tok refresh\">"
           "refresh token</span> · {n: step} the numbering of <code>mrasim run</code> and docs/flow.md · click an arrow "
           "for its message</div>")
_REFRESH = ("grant_type=refresh_token", "refresh_token=", "refresh token", "handleRefreshToken", "ctyp\":\"refresh")
_ACCESS = ("Bearer ", "access_token", "Access Token", "access token", "reqtype=access")


def token_kind(message: Message) -> str:
    """Which of the two OAuth tokens an arrow carries or is about: ``refresh``, ``access`` or ``""``."""
    text = f"{message.label}\n{message.detail[:4000]}"
    if any(t in text for t in _REFRESH):
        return "refresh"
    if any(t in text for t in _ACCESS):
        return "access"
    return ""


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters, breaking at spaces where possible — a note is never cut short."""
    out: list[str] = []
    for word in text.split(" "):
        while len(word) > width:
            if out and len(out[-1]) < width // 2:
                room = width - len(out[-1]) - 1
                out[-1] += " " + word[:room]
                word = word[room:]
                continue
            out.append(word[:width])
            word = word[width:]
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        elif word:
            out.append(word)
    return out or [""]


def _tspans(lines: list[str], x: int, y: int) -> str:
    return "".join(f'<tspan x="{x}" y="{y + i * 13}">{html.escape(line)}</tspan>' for i, line in enumerate(lines))


def render_html(session: Session, others: list[Session] | None = None) -> str:
    """A self-contained page: an SVG ladder; clicking an arrow shows its full HTTPMSG/XML.

    Every lane fits a 1280-pixel screen beside the message panel, every label and note is shown whole (wrapped, the
    row grows), the two OAuth tokens have their own colours, and a legend says what each mark means."""
    nodes = participants(session)
    step_x = max(110, min(170, 720 // max(1, len(nodes))))
    top, gap = 70, 10
    col = {n: 10 + step_x // 2 + i * step_x for i, n in enumerate(nodes)}
    width = 20 + step_x * len(nodes)
    tags = step_numbers(session)
    rows, y = [], top
    for i, message in enumerate(session.messages):
        a, b = col[message.src], col[message.dst]
        chars = max(14, (abs(b - a) if a != b else step_x - 12) // 7)
        lines = _wrap(f"{i + 1}. {_numbered(message.label, tags[i])}", chars)
        kind = token_kind(message)
        if kind:
            lines.append(f"[{kind} token]")
        rows.append((y, lines, kind))
        y += 13 * len(lines) + gap + 8
    height = y + 10
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" id="ladder">',
           '<defs><marker id="arr" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z"/></marker></defs>']
    for zone, colour in (("Internet", "#fff0f0"), ("DMZ", "#fffadc"), ("Internal", "#e6f5ff")):
        members = [n for n in nodes if ZONES[n] == zone]
        if members:
            x0 = col[members[0]] - step_x // 2 + 4
            x1 = col[members[-1]] + step_x // 2 - 4
            svg.append(f'<rect x="{x0}" y="2" width="{x1 - x0}" height="{height - 4}" fill="{colour}"/>'
                       f'<text x="{(x0 + x1) // 2}" y="16" text-anchor="middle" fill="#777">{zone}</text>')
    for node, x in col.items():
        svg.append(f'<text x="{x}" y="40" text-anchor="middle" font-weight="bold">{html.escape(node)}</text>'
                   f'<line x1="{x}" y1="48" x2="{x}" y2="{height}" stroke="#999" stroke-dasharray="4 3"/>')
    data = []
    for i, (message, (y, lines, kind)) in enumerate(zip(session.messages, rows)):
        a, b = col[message.src], col[message.dst]
        klass = "msg" + (" fail" if message.failed else "") + (" note" if message.note or a == b else "") + \
            (f" {kind}" if kind else "")
        if a == b:
            box_h = 13 * len(lines) + 6
            shape = (f'<rect x="{a - step_x // 2 + 6}" y="{y}" width="{step_x - 12}" height="{box_h}" rx="3"/>'
                     f'<text text-anchor="middle" font-size="11">{_tspans(lines, a, y + 12)}</text>')
        else:
            line_y = y + 13 * len(lines) + 2
            dash = ' stroke-dasharray="5 3"' if message.status is not None else ""
            shape = (f'<text text-anchor="middle" font-size="11">{_tspans(lines, (a + b) // 2, y + 10)}</text>'
                     f'<line x1="{a}" y1="{line_y}" x2="{b}" y2="{line_y}" stroke="#333"{dash} '
                     'marker-end="url(#arr)"/>')
        svg.append(f'<g class="{klass}" data-i="{i}"><title>{_clock(message.time)}</title>{shape}</g>')
        meta = " · ".join(x for x in (_clock(message.time) + " UTC", tags[i],
                                      f"{kind} token" if kind else "",
                                      f"Txn-id {message.txn}" if message.txn else "",
                                      f"TrackingID {message.tracking}" if message.tracking else "",
                                      *(e.where for e in message.events[:2])) if x)
        data.append({"src": message.src, "dst": message.dst, "label": message.label, "meta": meta,
                     "detail": message.detail})
    svg.append("</svg>")
    payload = json.dumps(data).replace("</", "<\\/")
    listing = "".join(f"<li>{html.escape(s.summary())}</li>" for s in (others or []))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(session.summary())}</title>'
            f"<style>{_STYLE}</style></head><body><div id=\"diagram\"><h1>{html.escape(session.summary())}</h1>"
            f"{'<ul>' + listing + '</ul>' if listing else ''}{_LEGEND}{''.join(svg)}</div>"
            f'<div id="side"><h1 id="title">Click an arrow to see its message</h1><div id="meta"></div>'
            f'<pre id="detail"></pre></div><script type="application/json" id="messages">{payload}</script>'
            f"<script>{_SCRIPT}</script></body></html>\n")
