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

from common.textfit import cut
from analyzer.model import NODE_ORDER, SHORT, ZONES, Message, Session

COLUMN = 16
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
        label = cut(message.label, fits)
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
    for number, message in enumerate(session.messages, 1):
        label = _mermaid_text(f"{number} {message.label}" + (" ✗" if message.failed else ""))
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
#diagram{flex:3;overflow:auto;padding:8px}#side{flex:2;border-left:1px solid #ccc;overflow:auto;padding:8px}
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


def render_html(session: Session, others: list[Session] | None = None) -> str:
    """A self-contained page: an SVG ladder; clicking an arrow shows its full HTTPMSG/XML."""
    nodes = participants(session)
    step_x, top, row = 170, 70, 30
    col = {n: 20 + step_x // 2 + i * step_x for i, n in enumerate(nodes)}
    height = top + row * (len(session.messages) + 1)
    width = 40 + step_x * len(nodes)
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
    for i, message in enumerate(session.messages):
        y = top + i * row
        a, b = col[message.src], col[message.dst]
        label = html.escape(f"{i + 1}. {message.label}"[:70])
        klass = "msg" + (" fail" if message.failed else "") + (" note" if message.note or a == b else "")
        if a == b:
            shape = (f'<rect x="{a - 75}" y="{y - 12}" width="150" height="18" rx="3"/>'
                     f'<text x="{a}" y="{y + 1}" text-anchor="middle" font-size="11">{label[:30]}</text>')
        else:
            dash = ' stroke-dasharray="5 3"' if message.status is not None else ""
            shape = (f'<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="#333"{dash} marker-end="url(#arr)"/>'
                     f'<text x="{(a + b) // 2}" y="{y - 4}" text-anchor="middle">{label}</text>')
        svg.append(f'<g class="{klass}" data-i="{i}"><title>{_clock(message.time)}</title>{shape}</g>')
        meta = " · ".join(x for x in (_clock(message.time) + " UTC", f"Txn-id {message.txn}" if message.txn else "",
                                      f"TrackingID {message.tracking}" if message.tracking else "",
                                      *(e.where for e in message.events[:2])) if x)
        data.append({"src": message.src, "dst": message.dst, "label": message.label, "meta": meta,
                     "detail": message.detail})
    svg.append("</svg>")
    payload = json.dumps(data).replace("</", "<\\/")
    listing = "".join(f"<li>{html.escape(s.summary())}</li>" for s in (others or []))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(session.summary())}</title>'
            f"<style>{_STYLE}</style></head><body><div id=\"diagram\"><h1>{html.escape(session.summary())}</h1>"
            f"{'<ul>' + listing + '</ul>' if listing else ''}{''.join(svg)}</div>"
            f'<div id="side"><h1 id="title">Click an arrow to see its message</h1><div id="meta"></div>'
            f'<pre id="detail"></pre></div><script type="application/json" id="messages">{payload}</script>'
            f"<script>{_SCRIPT}</script></body></html>\n")
