// mrasim training page: the live ladder, step mode, break-it and exercises. Plain JavaScript and SVG, no library.
// Everything that comes from the lab (labels, bodies, log lines, names) is set with textContent, never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const ROW_GAP = 6;

const state = {
  ws: null, connected: false, everConnected: false, bootDone: false, retry: 0,
  scenarios: [], lanes: [], rows: [], runId: 0, hidden: false, shown: 0, revealTimer: null,
  pendingDone: null, done: null, paused: null, selected: null, broke: null, mine: false,
};
const boot = JSON.parse(($("boot") || { textContent: "{}" }).textContent || "{}");

// ---- small helpers ---------------------------------------------------------------------------------------------

function el(tag, attrs = {}, text = null, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}
function banner(kind, text) {
  const box = el("div", { class: `banner ${kind}`, role: kind === "error" ? "alert" : "status" });
  box.appendChild(el("span", {}, text));
  const close = el("button", { "aria-label": "dismiss" }, "×");
  close.addEventListener("click", () => box.remove());
  box.appendChild(close);
  $("banners").appendChild(box);
  while ($("banners").children.length > 4) $("banners").firstChild.remove();
}
function status(text, kind) {
  $("status").textContent = text;
  $("status").dataset.state = kind;
}
function send(message) {
  if (!state.connected) { banner("error", "Not connected to the lab; wait for the page to reconnect."); return; }
  state.ws.send(JSON.stringify(message));
}
function tab(name) {
  for (const b of document.querySelectorAll("#tabs button")) {
    const on = b.dataset.tab === name;
    b.setAttribute("aria-selected", on ? "true" : "false");
    $(b.dataset.tab).hidden = !on;
  }
}

// ---- the event stream ------------------------------------------------------------------------------------------

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  state.ws = ws;
  ws.addEventListener("open", () => {
    state.connected = true;
    if (state.everConnected) banner("notice", "Reconnected to the lab. If it was restarted, the run you were " +
      "watching is gone: start it again.");
    state.everConnected = true;
    state.retry = 0;
  });
  ws.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    (handlers[message.type] || (() => {}))(message);
  });
  ws.addEventListener("close", () => {
    const was = state.connected || !state.everConnected;
    state.connected = false;
    $("next").disabled = $("go").disabled = true;
    const wait = Math.min(1000 * 2 ** state.retry, 8000);
    state.retry += 1;
    status("Lab connection lost — reconnecting…", "lost");
    if (was) banner("error", state.everConnected
      ? "The connection to the lab closed (the lab stopped or restarted). The page keeps trying to reconnect; " +
        "start 'mrasim ui' again if it does not come back."
      : "Cannot reach the lab's event stream. Is 'mrasim ui' still running?");
    setTimeout(connect, wait);
  });
}

const handlers = {
  hello(m) {
    state.scenarios = m.scenarios;
    state.lanes = m.lanes;
    const select = $("scenario");
    const current = select.value;
    select.replaceChildren();
    for (const s of m.scenarios) select.appendChild(el("option", { value: s.name, title: s.symptom }, s.name));
    if (current) select.value = current;
    fillChoices(m.scenarios);
    if (!state.rows.length) render();
    status(m.attached ? "Following the lab of 'mrasim up'" : "Ready", "idle");
    for (const id of ["run", "exercise", "step", "scenario"]) $(id).disabled = !!m.attached;
    if (!state.bootDone) { state.bootDone = true; applyBoot(); }
  },
  notice(m) { banner("notice", m.message); },
  error(m) { banner("error", m.message); if (!state.done && !state.rows.length) status("Ready", "idle"); },
  run(m) {
    clearTimeout(state.revealTimer);
    Object.assign(state, { runId: m.id, hidden: m.hidden, rows: [], shown: 0, pendingDone: null, done: null,
      paused: null, selected: null, broke: null, mine: m.mine, lanes: m.lanes });
    $("runtitle").textContent = m.title;
    $("runtitle").classList.toggle("hidden-run", m.hidden);
    if (!m.hidden) $("scenario").value = m.scenario;
    $("go").disabled = !m.step;
    $("ex-verdict").replaceChildren();
    $("ex-form").hidden = true;
    $("diag-title").textContent = "Running…";
    $("diag-body").replaceChildren(el("p", {}, "The diagnosis appears when the run ends."));
    status(m.step ? "Step mode: waiting for the first hop" : "Running…", "running");
    if (m.hidden) { tab("exercise-panel"); $("ex-intro").textContent = "An unnamed scenario is running. Read the " +
      "ladder and the log lines (click the arrows), then pick the root cause below."; }
    render();
  },
  ladder(m) {
    if (m.id !== state.runId) return;
    state.rows = m.rows;
    state.lanes = m.lanes;
    if (m.diagnosis !== undefined) {  // following a lab started elsewhere: the diagnosis so far
      state.broke = m.broke;
      showDiagnosis({ diagnosis: m.diagnosis, broke_at: null, story: null, error: "" });
    }
    reveal();
  },
  pause(m) {
    if (m.id !== state.runId) return;
    state.paused = m;
    $("next").disabled = false;
    $("go").disabled = false;
    status(`Paused before ${m.method} ${m.step}`, "paused");
    showLesson(m);
    render();
  },
  resume(m) {
    if (m.id !== state.runId) return;
    state.paused = null;
    $("next").disabled = true;
    status("Sending…", "running");
    render();
  },
  done(m) {
    if (m.id !== state.runId) return;
    state.pendingDone = m;
    state.paused = null;
    $("next").disabled = $("go").disabled = true;
    if (state.shown >= visibleRows().length) finish();
  },
  verdict(m) { showVerdict(m); },
};

// ---- the ladder ------------------------------------------------------------------------------------------------

function visibleRows() { return state.rows; }

function reveal() {
  // Arrows appear one after the other even when the lab is faster than the eye.
  clearTimeout(state.revealTimer);
  const rows = visibleRows();
  if (state.shown > rows.length) state.shown = rows.length;
  const step = () => {
    if (state.shown < rows.length) {
      state.shown += 1;
      render(state.shown - 1);
      // A long backlog (a finished run, a page opened late) is drawn quickly; a live run arrow by arrow.
      const backlog = rows.length - state.shown;
      const note = rows[state.shown - 1] && rows[state.shown - 1].kind === "note";
      state.revealTimer = setTimeout(step, backlog > 12 ? 8 : (note ? 10 : 45));
    } else if (state.pendingDone) {
      finish();
    }
  };
  step();
}

function finish() {
  const m = state.pendingDone;
  if (!m) return;
  state.pendingDone = null;
  state.done = m;
  state.broke = m.broke;
  state.shown = state.rows.length;
  render();
  if (m.error) banner("error", m.error);
  if (state.hidden) {
    status("Exercise: which root cause?", "done");
    if (m.choices) { $("ex-form").hidden = false; tab("exercise-panel"); $("ex-choice").focus(); }
    return;
  }
  showDiagnosis(m);
  const failed = m.broke !== null || !!m.broke_at;
  status(failed ? `Done — broke at ${m.broke_at || "row " + m.broke}` : "Done — login succeeded", "done");
  if (failed) tab("diagnosis");
  if (failed && m.broke !== null) selectRow(m.broke, false);
}

function laneX(width) {
  const n = Math.max(state.lanes.length, 1);
  const left = 24, usable = width - 2 * left;
  const col = usable / n;
  const xs = {};
  state.lanes.forEach((lane, i) => { xs[lane.name] = left + col * (i + 0.5); });
  return { xs, col, left };
}

function render(fresh = -1) {
  const svg = $("ladder");
  const wrap = $("ladderwrap");
  const width = Math.max(wrap.clientWidth - 4, 720);
  const rowH = parseFloat(getComputedStyle(document.body).getPropertyValue("--row")) || 26;
  const rows = state.rows.slice(0, state.shown);
  const hideNotes = document.body.classList.contains("no-notes");
  const laid = rows.filter((r) => !(hideNotes && r.kind === "note"));
  const top = 62;
  const extra = state.paused ? 1 : 0;
  const height = top + (laid.length + extra + 1) * rowH + ROW_GAP;
  const { xs, col } = laneX(width);
  svg.replaceChildren();
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const defs = el("defs", {}, null, SVG);
  for (const [id, colour] of [["head", "#34495e"], ["headbad", "#c62828"], ["headnext", "#c99000"]]) {
    const marker = el("marker", { id, markerWidth: 9, markerHeight: 9, refX: 8, refY: 4, orient: "auto" }, null, SVG);
    marker.appendChild(el("path", { d: "M0,0 L8,4 L0,8 z", fill: colour }, null, SVG));
    defs.appendChild(marker);
  }
  svg.appendChild(defs);
  // zones: consecutive lanes of one zone share a band
  const zoneColour = { Internet: "var(--internet)", DMZ: "var(--dmz)", Inside: "var(--inside)" };
  let i = 0;
  while (i < state.lanes.length) {
    let j = i;
    while (j + 1 < state.lanes.length && state.lanes[j + 1].zone === state.lanes[i].zone) j += 1;
    const x0 = xs[state.lanes[i].name] - col / 2 + 2, x1 = xs[state.lanes[j].name] + col / 2 - 2;
    svg.appendChild(el("rect", { x: x0, y: 0, width: x1 - x0, height, fill: zoneColour[state.lanes[i].zone] ||
      "var(--inside)" }, null, SVG));
    svg.appendChild(el("text", { x: (x0 + x1) / 2, y: 15, "text-anchor": "middle", class: "zone-name" },
      state.lanes[i].zone, SVG));
    i = j + 1;
  }
  for (const lane of state.lanes) {
    svg.appendChild(el("text", { x: xs[lane.name], y: 38, "text-anchor": "middle", class: "lane-name" }, lane.name, SVG));
    svg.appendChild(el("line", { x1: xs[lane.name], y1: 46, x2: xs[lane.name], y2: height, class: "lifeline" }, null, SVG));
  }
  laid.forEach((row, k) => {
    const y = top + k * rowH + rowH / 2;
    svg.appendChild(drawRow(row, y, xs, width, rowH, row.i === fresh));
  });
  if (state.paused) {
    const y = top + laid.length * rowH + rowH / 2;
    const g = el("g", { class: "pending" }, null, SVG);
    g.appendChild(el("rect", { x: 0, y: y - rowH / 2, width, height: rowH, class: "pause-band" }, null, SVG));
    const a = xs["Jabber"], b = xs["Expressway-E"];
    if (a !== undefined && b !== undefined) {
      g.appendChild(el("line", { x1: a, y1: y + 4, x2: b, y2: y + 4, stroke: "#c99000", "stroke-width": 2,
        "stroke-dasharray": "2 4", "marker-end": "url(#headnext)" }, null, SVG));
      g.appendChild(el("text", { x: (a + b) / 2, y: y - 2, "text-anchor": "middle" },
        `next: ${state.paused.method} ${state.paused.step} — press n`, SVG));
    }
    svg.appendChild(g);
  }
  if (fresh >= 0 || state.paused) wrap.scrollTop = wrap.scrollHeight;
}

function drawRow(row, y, xs, width, rowH, fresh) {
  if (row.kind === "session") {
    const g = el("g", { class: "session" }, null, SVG);
    g.appendChild(el("rect", { x: 0, y: y - rowH / 2 + 2, width, height: rowH - 4, rx: 2 }, null, SVG));
    g.appendChild(el("text", { x: 10, y: y + 4 }, row.title, SVG));
    return g;
  }
  if (row.kind === "note") {
    const g = el("g", { class: "note", "data-i": row.i }, null, SVG);
    const x = xs[row.src] !== undefined ? xs[row.src] : 40;
    g.appendChild(el("text", { x: x + 6, y: y + 4 }, `· ${row.label}`.slice(0, 90), SVG));
    return g;
  }
  const a = xs[row.src], b = xs[row.dst];
  const classes = ["arrow"];
  if (row.reply) classes.push("reply");
  if (row.failed) classes.push("fail");
  if (fresh) classes.push("new");
  if (state.selected === row.i) classes.push("sel");
  const g = el("g", { class: classes.join(" "), tabindex: 0, role: "listitem", "data-i": row.i,
    "data-n": row.n === null ? "" : row.n, "data-step": row.step, "data-src": row.src, "data-dst": row.dst,
    "data-name": row.name || row.step, "data-sub": row.sub ? "1" : "0", "data-reply": row.reply ? "1" : "0", "data-failed": row.failed ? "1" : "0",
    "aria-label": `${row.n === null ? "" : row.n + ". "}${row.src} to ${row.dst}: ${row.label}` }, null, SVG);
  g.appendChild(el("rect", { x: 0, y: y - rowH / 2, width, height: rowH, class: "hit" }, null, SVG));
  if (state.broke === row.i) {
    g.appendChild(el("rect", { x: 0, y: y - rowH / 2, width, height: rowH, class: "break-band" }, null, SVG));
  }
  const marker = row.failed ? "url(#headbad)" : "url(#head)";
  const tag = row.n === null ? "" : (row.sub ? "↳ " : `${row.n} `);
  if (a === undefined || b === undefined || a === b) {
    const x = a !== undefined ? a : (b !== undefined ? b : 40);
    g.appendChild(el("path", { d: `M${x},${y - 5} h26 v10 h-24`, fill: "none", stroke: row.failed ? "#c62828" :
      "#34495e", "marker-end": marker }, null, SVG));
    const t = el("text", { x: x + 32, y: y + 4 }, null, SVG);
    t.appendChild(el("tspan", { class: "num" }, tag, SVG));
    t.appendChild(el("tspan", {}, row.label.slice(0, 60), SVG));
    g.appendChild(t);
  } else {
    g.appendChild(el("line", { x1: a, y1: y + 5, x2: b + (b > a ? -2 : 2), y2: y + 5, "marker-end": marker }, null, SVG));
    // Keep a long label inside the diagram: centred on the arrow unless that would cut it at an edge.
    const half = (tag.length + Math.min(row.label.length, 70)) * 3.6;
    const mid = Math.min(Math.max((a + b) / 2, half + 4), width - half - 4);
    const t = el("text", { x: mid, y: y, "text-anchor": "middle" }, null, SVG);
    t.appendChild(el("tspan", { class: "num" }, tag, SVG));
    t.appendChild(el("tspan", {}, row.label.slice(0, 70), SVG));
    g.appendChild(t);
  }
  if (state.broke === row.i) {
    g.appendChild(el("text", { x: a + 6, y: y + rowH / 2 - 2, class: "break-mark", "font-size": 18 }, "✗", SVG));
  }
  g.appendChild(el("title", {}, `${row.time} UTC${row.txn ? " · Txn-id " + row.txn : ""}`, SVG));
  g.addEventListener("click", () => selectRow(row.i, true));
  g.addEventListener("keydown", (e) => { if (e.key === "Enter") { selectRow(row.i, true); e.preventDefault(); } });
  return g;
}

function selectRow(i, showTab) {
  const row = state.rows.find((r) => r.i === i);
  if (!row) return;
  state.selected = i;
  for (const g of document.querySelectorAll("#ladder .arrow")) g.classList.toggle("sel", +g.dataset.i === i);
  const node = document.querySelector(`#ladder .arrow[data-i="${i}"]`);
  if (node) { node.focus({ preventScroll: false }); }
  showMessage(row);
  if (showTab) tab("message");
}

function moveSelection(delta) {
  const arrows = state.rows.slice(0, state.shown).filter((r) => r.kind === "arrow");
  if (!arrows.length) return;
  let k = arrows.findIndex((r) => r.i === state.selected);
  k = k < 0 ? (delta > 0 ? 0 : arrows.length - 1) : Math.min(Math.max(k + delta, 0), arrows.length - 1);
  selectRow(arrows[k].i, false);
}

// ---- panels ----------------------------------------------------------------------------------------------------

function showMessage(row) {
  $("msg-title").textContent = `${row.n === null ? "" : (row.sub ? "↳ " : row.n + ". ")}${row.src} → ${row.dst}: ${row.label}`;
  const meta = [`${row.time} UTC`];
  if (row.txn) meta.push(`Txn-id ${row.txn}`);
  if (row.tracking) meta.push(`TrackingID ${row.tracking}`);
  if (row.status !== null && row.status !== undefined) meta.push(`status ${row.status}`);
  $("msg-meta").textContent = meta.join(" · ");
  $("msg-request").textContent = row.request || "(the logs hold no request body for this arrow)";
  $("msg-answer").textContent = row.answer || "(no answer logged yet)";
  const box = $("msg-logs");
  box.replaceChildren();
  let current = null;
  for (const line of row.logs || []) {
    if (line.log !== current) { current = line.log; box.appendChild(el("div", { class: "logname" }, `${line.log} (${line.node})`)); }
    const div = el("div", { class: "logline" });
    div.appendChild(el("span", { class: "where" }, `${line.log}:${line.line} `));
    div.appendChild(el("span", { class: "tie" }, `[${line.tie}] `));
    div.appendChild(document.createTextNode(line.text));
    box.appendChild(div);
  }
  if (!(row.logs || []).length) box.appendChild(el("p", {}, "No log line is tied to this arrow yet."));
}

function showLesson(m) {
  tab("hop");
  const lesson = m.lesson;
  $("hop-title").textContent = lesson ? lesson.title : `Next: ${m.method} ${m.step}`;
  const body = $("hop-body");
  body.replaceChildren();
  body.appendChild(el("p", {}, `Jabber is about to send ${m.method} ${m.url}`));
  if (!lesson) { body.appendChild(el("p", {}, "Exercise: no hints. Press n to send it.")); return; }
  const dl = el("dl");
  for (const [title, key] of [["What this hop is for", "purpose"], ["What the receiving product checks", "checks"],
    ["What could go wrong here", "wrong"], ["Log line to look for", "look_for"]]) {
    dl.appendChild(el("dt", {}, title));
    dl.appendChild(el("dd", {}, lesson[key]));
  }
  body.appendChild(dl);
  if (lesson.scenarios && lesson.scenarios.length) {
    body.appendChild(el("p", {}, `Break it here: ${lesson.scenarios.join(", ")}`));
  }
  body.appendChild(el("p", {}, "Press n (or Next hop) to send it; g runs to the end."));
}

function finding(d, extra) {
  const box = el("div", { class: "finding" });
  box.appendChild(el("h3", {}, d.title));
  const dl = el("dl");
  for (const [title, key] of [["Cause", "root_cause"], ["Fix", "fix"], ["Source", "document"]]) {
    dl.appendChild(el("dt", {}, title));
    dl.appendChild(el("dd", {}, d[key] || ""));
  }
  box.appendChild(dl);
  if (d.evidence && d.evidence.length) {
    box.appendChild(el("h3", {}, "Evidence"));
    for (const ev of d.evidence) {
      const div = el("div", { class: "logline" });
      div.appendChild(el("span", { class: "where" }, `${ev.where} `));
      div.appendChild(document.createTextNode(ev.line));
      box.appendChild(div);
    }
  }
  if (extra) box.appendChild(extra);
  return box;
}

function storyBlock(story) {
  const dl = el("dl");
  for (const [title, key] of [["Symptom", "symptom"], ["Root cause", "root_cause"], ["How it shows in the logs",
    "recognise"], ["Fix", "fix"], ["Source", "source"]]) {
    dl.appendChild(el("dt", {}, title));
    dl.appendChild(el("dd", {}, story[key]));
  }
  return dl;
}

function showDiagnosis(m) {
  const body = $("diag-body");
  body.replaceChildren();
  if (m.diagnosis) {
    $("diag-title").textContent = "mrasim diagnose";
    body.appendChild(finding(m.diagnosis));
  } else {
    $("diag-title").textContent = m.error ? "The run did not finish" : "No issue found";
    const ok = el("div", { class: "finding ok" });
    ok.appendChild(el("p", {}, m.error || "mrasim diagnose finds nothing wrong: every transaction ended in 2xx/3xx."));
    body.appendChild(ok);
  }
  if (m.broke_at) body.appendChild(el("p", {}, `Where it broke: ${m.broke_at}`));
  if (m.story) {
    body.appendChild(el("h3", {}, `The scenario: ${m.story.name}`));
    body.appendChild(storyBlock(m.story));
  }
}

function fillChoices(scenarios) {
  const select = $("ex-choice");
  select.replaceChildren(el("option", { value: "" }, "— pick a root cause —"));
  for (const s of scenarios) select.appendChild(el("option", { value: s.name }, s.title));
}

function showVerdict(m) {
  const box = $("ex-verdict");
  box.replaceChildren();
  $("ex-form").hidden = true;
  box.appendChild(el("p", { class: m.right ? "verdict-right" : "verdict-wrong", id: "verdict" },
    m.right ? `Right: ${m.title}.` : `Not quite: you said “${m.picked}”; it was “${m.title}”.`));
  if (m.read_as) box.appendChild(el("p", {}, `(Your typed answer was read as “${m.read_as}”.)`));
  box.appendChild(el("p", {}, `Score this session: ${m.score.right} of ${m.score.answered}.`));
  $("score").textContent = `${m.score.right}/${m.score.answered}`;
  if (m.story) box.appendChild(storyBlock(m.story));
  if (m.diagnosis) box.appendChild(finding(m.diagnosis));
  box.appendChild(el("p", {}, "Press e for the next one."));
  $("runtitle").textContent = `Exercise answer: ${m.answer}`;
}

// ---- controls --------------------------------------------------------------------------------------------------

function runChosen() { send({ op: "run", scenario: $("scenario").value, step: $("step").checked }); }
function exercise(set) { send({ op: "exercise", set: set || null }); }
function next() { if (!$("next").disabled) send({ op: "next" }); }

function applyBoot() {
  for (const problem of boot.problems || []) banner("error", problem);
  if (boot.step) $("step").checked = true;
  if (boot.exercise) { exercise(boot.exercise); return; }
  if (boot.scenario) { $("scenario").value = boot.scenario; runChosen(); }
}

$("run").addEventListener("click", runChosen);
$("next").addEventListener("click", next);
$("go").addEventListener("click", () => send({ op: "go" }));
$("exercise").addEventListener("click", () => exercise(null));
$("large").addEventListener("click", toggleLarge);
$("help").addEventListener("click", () => { $("keys").hidden = !$("keys").hidden; });
for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => tab(b.dataset.tab));
$("ex-form").addEventListener("submit", (e) => {
  e.preventDefault();
  send({ op: "answer", choice: $("ex-choice").value || null, text: $("ex-text").value || null });
});
window.addEventListener("resize", () => render());

function toggleLarge() {
  const on = document.body.classList.toggle("large");
  $("large").setAttribute("aria-pressed", on ? "true" : "false");
  render();
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") { $("keys").hidden = true; return; }
  const t = e.target;
  if (t && (t.tagName === "INPUT" && t.type === "text" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const keys = {
    r: runChosen, n: next, " ": next, g: () => send({ op: "go" }), e: () => exercise(null),
    s: () => { $("step").checked = !$("step").checked; }, p: toggleLarge,
    l: () => { document.body.classList.toggle("no-notes"); render(); },
    "?": () => { $("keys").hidden = !$("keys").hidden; },
    ArrowDown: () => moveSelection(1), j: () => moveSelection(1), ArrowUp: () => moveSelection(-1),
    k: () => moveSelection(-1),
    1: () => tab("hop"), 2: () => tab("message"), 3: () => tab("diagnosis"), 4: () => tab("exercise-panel"),
  };
  const action = keys[e.key];
  if (action) { action(); e.preventDefault(); }
});

render();
connect();
