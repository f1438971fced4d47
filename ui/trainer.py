"""The page's one lab at a time: runs a catalogue scenario, follows its logs live, pauses it in step mode, scores
exercises — for every browser connected.

Each run is :func:`scenarios.play.play` on a fresh lab, exactly as ``mrasim scenario run`` plays it. The lab's
event stream (:func:`lab.events.follow`) feeds the records to :mod:`ui.ladder`, and every browser gets the ladder
as it grows. In step mode every client gets the lab's ``jabber_gate``, which pauses before each request Jabber sends
until a browser says "next". Several browsers may watch at once (a trainer's projector and a trainee's laptop): all
see the same run, one run goes at a time, and each browser keeps its own exercise score.
"""

from __future__ import annotations

import asyncio
import difflib
import itertools
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from analyzer.model import Corpus
from jabber.flow import Step
from lab.events import LogRecord, follow
from lab.running import RunningLab, node_names
from scenarios.play import play
from scenarios.scenario import Scenario
from ui import ladder as ladder_mod
from ui.lessons import lesson_for

Send = Callable[[dict[str, Any]], Awaitable[None]]
HEALTHY = "healthy-login"
LIVE_EVERY = 0.05  # seconds between two ladder updates while records arrive
WATCH_KEEP = 4000  # records of a watched lab kept for its ladder: the latest logins


def title_of(name: str) -> str:
    """A scenario's name as a root cause to choose from: ``keys-regenerated-c-not-refreshed`` → ``Keys regenerated
    c not refreshed``."""
    text = name.replace("-", " ")
    return text[:1].upper() + text[1:]


@dataclass(eq=False)
class Viewer:
    """One browser: where to send, and its exercise (the scenarios left, the one to name, its score)."""

    number: int
    send: Send
    alive: Callable[[], bool] = lambda: True
    exercise: list[str] = field(default_factory=list)
    pending: str | None = None
    right: int = 0
    answered: int = 0

    def score(self) -> dict[str, int]:
        return {"right": self.right, "answered": self.answered}


@dataclass(eq=False)
class Run:
    id: int
    scenario: Scenario | None  # None: watching a lab started elsewhere (mrasim up)
    owner: Viewer | None
    hidden: bool
    step_mode: bool
    records: list[LogRecord] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    paused: dict[str, Any] | None = None
    last: dict[str, Any] | None = None
    done: dict[str, Any] | None = None
    finished: bool = False
    nodes: list[str] = field(default_factory=list)

    def title(self) -> str:
        if self.scenario is None:
            return "Watching the lab started with 'mrasim up': every login through its Expressway-E appears here"
        return "Exercise: what is wrong here?" if self.hidden else f"{self.scenario.name}: {self.scenario.symptom}"

    def lanes(self, used: set[str] = frozenset()) -> list[dict[str, str]]:  # type: ignore[assignment]
        nodes = self.nodes or (_expected_nodes(self.scenario) if self.scenario else sorted({r.node for r in
                                                                                             self.records}))
        return ladder_mod.lanes(nodes, used - {""})


class Trainer:
    def __init__(self, scenarios: list[Scenario], seed: int | None = None) -> None:
        self.scenarios = {s.name: s for s in scenarios}
        self.viewers: list[Viewer] = []
        self.run: Run | None = None
        self._ids = itertools.count(1)
        self._viewer_ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._random = random.Random(seed)
        self.watching: str | None = None  # the event stream of a lab started with 'mrasim up' (ui.attach)

    # -- browsers -------------------------------------------------------------------------------------------------

    def catalogue(self) -> list[dict[str, str]]:
        return [{"name": s.name, "title": title_of(s.name), "symptom": s.symptom} for s in self.scenarios.values()]

    async def join(self, send: Send, alive: Callable[[], bool] = lambda: True) -> Viewer:
        self.viewers = [v for v in self.viewers if v.alive()]  # a reloaded page's old stream may not have ended yet
        viewer = Viewer(next(self._viewer_ids), send, alive)
        self.viewers.append(viewer)
        await send({"type": "hello", "viewer": viewer.number, "scenarios": self.catalogue(), "attached": self.watching,
                    "lanes": ladder_mod.lanes(["jabber", "expressway-e", "expressway-c", "cucm", "imp"])})
        if len(self.viewers) > 1:
            await self._tell_all({"type": "notice", "message": f"{len(self.viewers)} browsers are open on this lab. "
                                  "They all see the same run; a run started in one waits for the current one to "
                                  "finish. Each keeps its own exercise score."})
        run = self.run
        if run is not None:
            await send(self._start_message(run, viewer))
            if run.last is not None:
                await send(run.last)
            if run.paused is not None:
                await send(run.paused)
            if run.done is not None:
                await send(self._done_for(run, viewer))
        return viewer

    def leave(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        run = self.run
        if run is not None and not self.viewers:
            run.step_mode = False  # nobody left to press "next": let the run finish
            run.release.set()

    async def handle(self, viewer: Viewer, message: Any) -> None:
        """One message from a browser; anything malformed gets an error message back, never an exception."""
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            await viewer.send({"type": "error", "message": "The page sent something this lab does not understand; "
                                                           "reload the page."})
            return
        op = message["op"]
        if op == "run":
            await self.start(viewer, message.get("scenario"), bool(message.get("step")))
        elif op == "next":
            await self._next(viewer)
        elif op == "go":
            if self.run is not None:
                self.run.step_mode = False
                self.run.release.set()
        elif op == "exercise":
            await self.exercise(viewer, message.get("set"))
        elif op == "answer":
            await self.answer(viewer, message.get("choice"), message.get("text"))
        else:
            await viewer.send({"type": "error", "message": f"Unknown request {op[:40]!r} from the page; reload it."})

    # -- runs -----------------------------------------------------------------------------------------------------

    async def start(self, viewer: Viewer, name: object, step_mode: bool, hidden: bool = False) -> None:
        if self.watching is not None:
            await viewer.send({"type": "error", "message": "This page follows the lab started with 'mrasim up'; it "
                               "cannot play scenarios there. Run 'mrasim ui' without --attach for scenarios and "
                               "exercises."})
            return
        if not isinstance(name, str) or name not in self.scenarios:
            shown = repr(name)[:60] if name is not None else "no name"
            await viewer.send({"type": "error", "message": f"There is no scenario named {shown}. Pick one from the "
                                                           "list."})
            return
        if self.run is not None and not self.run.finished:
            await viewer.send({"type": "error", "message": f"A run is in progress ({self.run.title()}); this lab "
                               "runs one at a time. Wait for it to finish, then start yours."})
            return
        if not hidden:
            viewer.pending = None
        run = Run(next(self._ids), self.scenarios[name], viewer, hidden, step_mode)
        self.run = run
        for other in list(self.viewers):
            await other.send(self._start_message(run, other))
        self._task = asyncio.create_task(self._play(run), name=f"ui-run-{run.id}")

    async def wait(self) -> None:
        """Until the current run has finished (tests, and a clean stop)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def stop(self) -> None:
        if self.run is not None:
            self.run.step_mode = False
            self.run.release.set()
            if self.run.scenario is None:  # following a lab ('--attach'): the watch has no end of its own
                self.run.finished = True
                self.run.changed.set()
        await self.wait()

    def _start_message(self, run: Run, viewer: Viewer) -> dict[str, Any]:
        hidden = run.hidden
        return {"type": "run", "id": run.id, "title": run.title(), "hidden": hidden, "step": run.step_mode,
                "mine": run.owner is viewer, "scenario": None if hidden or not run.scenario else run.scenario.name,
                "lanes": run.lanes()}

    async def _play(self, run: Run) -> None:
        assert run.scenario is not None
        live = asyncio.create_task(self._live(run), name=f"ui-live-{run.id}")
        stops: list[Callable[[], None]] = []

        def on_lab(running: RunningLab) -> None:
            run.nodes = list(running.sinks)
            stops.append(follow(running, self._recorder(run)))
            running.jabber_gate = self._gate(run)

        error = ""
        result = None
        try:
            result = await play(run.scenario, None, on_lab=on_lab)
        except Exception as exc:  # the page says what happened; the server keeps serving
            error = f"The lab could not play {run.scenario.name}: {exc.__class__.__name__}: {exc}"
        finally:
            for stop in stops:
                stop()
            run.finished = True
            run.changed.set()
            await live
        built = self._build(run, final=True) or ladder_mod.Ladder(Corpus(), [], [])
        run.last = self._ladder_message(run, built)
        await self._tell_all(run.last)
        run.done = {
            "type": "done", "id": run.id, "error": error, "broke": built.broke,
            "passed": bool(result and result.passed), "broke_at": result.broke_at if result else None,
            "steps": [{"index": s.index, "summary": s.summary, "problems": s.problems} for s in result.steps]
            if result else [],
            "diagnosis": ladder_mod.diagnosis(built), "story": _story(run.scenario),
        }
        if run.hidden and run.owner is not None:
            run.owner.pending = run.scenario.name
        for viewer in list(self.viewers):
            await viewer.send(self._done_for(run, viewer))

    def _done_for(self, run: Run, viewer: Viewer) -> dict[str, Any]:
        assert run.done is not None
        if not run.hidden:
            return run.done
        withheld = {**run.done, "diagnosis": None, "story": None, "broke_at": None, "steps": [],
                    "choices": self.catalogue() if viewer is run.owner else None}
        return withheld

    def _recorder(self, run: Run) -> Callable[[LogRecord], None]:
        def record(item: LogRecord) -> None:
            run.records.append(item)
            run.changed.set()

        return record

    async def _live(self, run: Run) -> None:
        """Send the ladder as it grows, at most every ``LIVE_EVERY`` seconds."""
        while not run.finished:
            await run.changed.wait()
            run.changed.clear()
            if run.finished:
                return
            await asyncio.sleep(LIVE_EVERY)
            built = self._build(run, final=run.scenario is None)
            if built is None:
                continue
            run.last = self._ladder_message(run, built)
            if run.scenario is None:  # watching: no end, so the diagnosis and the break go with every update
                run.last.update(diagnosis=ladder_mod.diagnosis(built), broke=built.broke)
            await self._tell_all(run.last)

    def _build(self, run: Run, final: bool) -> ladder_mod.Ladder | None:
        """The ladder so far; a record the analyzer cannot place costs that update, never the run."""
        try:
            return ladder_mod.build(list(run.records), final=final)
        except Exception as exc:  # noqa: BLE001 — the run goes on; the console says what the analyzer met
            print(f"mrasim ui: the ladder could not be drawn: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            return None

    def _ladder_message(self, run: Run, built: ladder_mod.Ladder) -> dict[str, Any]:
        used = {str(r["src"]) for r in built.rows} | {str(r["dst"]) for r in built.rows}
        return {"type": "ladder", "id": run.id, "rows": built.rows, "lanes": run.lanes(used)}

    def _gate(self, run: Run) -> Callable[[Step], Awaitable[None]]:
        async def gate(step: Step) -> None:
            if not run.step_mode or not self.viewers:
                return
            lesson = lesson_for(step.name)
            run.paused = {"type": "pause", "id": run.id, "step": step.name, "method": step.method,
                          "url": _path(step.url), "lesson": lesson.as_dict() if not run.hidden else None}
            run.release.clear()
            await self._tell_all(run.paused)
            await run.release.wait()
            run.paused = None
            await self._tell_all({"type": "resume", "id": run.id})

        return gate

    async def _next(self, viewer: Viewer) -> None:
        run = self.run
        if run is None or run.paused is None:
            await viewer.send({"type": "error", "message": "Nothing is waiting: start a run in step mode first."})
            return
        run.release.set()

    # -- watching a lab started elsewhere ------------------------------------------------------------------------

    async def follow_lab(self, where: str) -> None:
        """Start (or start again, after the stream closed) following a lab's event stream."""
        self.watching = where
        run = Run(next(self._ids), None, None, False, False)
        self.run = run
        for viewer in list(self.viewers):
            await viewer.send(self._start_message(run, viewer))
        self._task = asyncio.create_task(self._live(run), name=f"ui-watch-{run.id}")

    def feed(self, record: LogRecord) -> None:
        run = self.run
        if run is not None and run.scenario is None:
            run.records.append(record)
            del run.records[:-WATCH_KEEP]
            run.changed.set()

    async def lost_lab(self, reason: str) -> None:
        run = self.run
        if run is not None and run.scenario is None:
            run.finished = True
            run.changed.set()
        await self._tell_all({"type": "error", "message": f"The lab's event stream closed ({reason}): the lab "
                              "stopped or restarted. The page follows it again as soon as it is back."})

    # -- exercises ------------------------------------------------------------------------------------------------

    async def exercise(self, viewer: Viewer, names: object) -> None:
        """Start (or go on with) an exercise: a scenario from the set, played without its name."""
        if isinstance(names, list) and names:
            wanted = [n for n in names if isinstance(n, str) and n in self.scenarios]
            if not wanted:
                await viewer.send({"type": "error", "message": "None of the exercise's scenarios is in the "
                                                               "catalogue."})
                return
            viewer.exercise = wanted
        if not viewer.exercise:
            viewer.exercise = [n for n in self.scenarios if n != HEALTHY]
        name = self._random.choice(viewer.exercise)
        await self.start(viewer, name, False, hidden=True)

    async def answer(self, viewer: Viewer, choice: object, text: object) -> None:
        run = self.run
        if viewer.pending is None or run is None or not run.hidden or run.done is None or run.scenario is None:
            await viewer.send({"type": "error", "message": "There is no exercise waiting for an answer; start one."})
            return
        picked = choice if isinstance(choice, str) and choice in self.scenarios else None
        read_as = None
        if picked is None and isinstance(text, str) and text.strip():
            picked = self._closest(text)
            read_as = title_of(picked) if picked else None
        if picked is None:
            await viewer.send({"type": "error", "message": "Pick a cause from the list, or type one."})
            return
        right = picked == viewer.pending
        viewer.answered += 1
        viewer.right += int(right)
        if viewer.pending in viewer.exercise and len(viewer.exercise) > 1:
            viewer.exercise.remove(viewer.pending)
        viewer.pending = None
        await viewer.send({"type": "verdict", "right": right, "picked": title_of(picked), "read_as": read_as,
                           "answer": run.scenario.name, "title": title_of(run.scenario.name),
                           "story": run.done["story"], "diagnosis": run.done["diagnosis"],
                           "broke_at": run.done["broke_at"], "score": viewer.score()})

    def _closest(self, text: str) -> str | None:
        words = set(text.lower().replace("-", " ").split())
        scored = []
        for name in self.scenarios:
            title = name.replace("-", " ")
            ratio = difflib.SequenceMatcher(None, text.lower(), title).ratio()
            overlap = len(words & set(title.split())) / max(len(title.split()), 1)
            scored.append((max(ratio, overlap), name))
        best = max(scored)
        return best[1] if best[0] >= 0.34 else None

    async def _tell_all(self, message: dict[str, Any]) -> None:
        for viewer in list(self.viewers):
            await viewer.send(message)


def _expected_nodes(scenario: Scenario) -> list[str]:
    """The lanes to draw before the lab is up: the nodes its lab file describes."""
    return ["jabber", *node_names(scenario.lab)]


def _story(scenario: Scenario) -> dict[str, str]:
    return {"name": scenario.name, "symptom": scenario.symptom, "root_cause": scenario.root_cause,
            "recognise": scenario.recognise, "fix": scenario.fix, "source": scenario.source}


def _path(url: str) -> str:
    parsed = URL(url)
    return parsed.path + (f"?{parsed.query_string}" if parsed.query_string else "")
