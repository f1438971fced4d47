"""``mrasim run --processes``: the login of ``mrasim run``, against the lab with each node in its own process.

The lab starts as ``mrasim up --processes`` starts it (:func:`lab.processes.start_processes`: ``mrasim serve`` per
node, the SAML metadata exchange when there is an IdP), on ports free right now and with a state folder of its own,
so it never meets a lab already up. :class:`ProcessRun` then stands where :class:`~lab.running.RunningLab` stands for
the runner (``lab``, ``sinks``, ``jabber()``, ``wait_sip_zone()``, ``stop()``): the Jabber client runs here, and the
hops it cannot see are read back from Expressway-C's log *file*, with the format that wrote it, as an engineer reads
the log of a separate appliance.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common.clock import LabClock
from common.config import Lab
from common.labmodel import DEFAULT_IDP_PORT
from common.logformats.expressway import split_records
from common.nodelog import LineSink
from common.resolver import LabResolver
from common.zone import ACTIVE, read_file as read_zone
from jabber.client import JabberClient
from lab.processes import ProcessLab, network, start_processes, with_free_ports
from lab.running import log_name


class LogFileRecords:
    """A node's log file as the records a :class:`~common.nodelog.LineSink` keeps (the runner reads ``records``).

    The node flushes its lines once per turn of its event loop, so its answer can reach Jabber a moment before the
    last lines it caused reach the file (on a busy machine, more than a moment). A read therefore waits, briefly and
    boundedly, until the file stops growing; what still comes late is read at the next step
    (:func:`lab.runner.unanswered_from`). The wait blocks: the runner's step callback is synchronous, and the nodes
    it waits for are other processes.
    """

    SETTLE, ROUNDS = 0.02, 10

    def __init__(self, path: Path, settle: bool = False) -> None:
        self.path = path
        self.settle = settle

    def _text(self) -> str:
        try:
            return self.path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def records(self) -> list[str]:
        text = self._text()
        for _ in range(self.ROUNDS if self.settle else 0):
            time.sleep(self.SETTLE)
            again = self._text()
            if again == text:
                break
            text = again
        return list(split_records(text))


@dataclass
class ProcessRun:
    processes: ProcessLab
    resolver: LabResolver
    clock: LabClock
    sinks: dict[str, LineSink | LogFileRecords]
    state: Path

    @property
    def lab(self) -> Lab:
        return self.processes.lab

    def jabber(self, userid: str | None = None, password: str | None = None) -> JabberClient:
        sink = self.sinks["jabber"]
        assert isinstance(sink, LineSink)
        return JabberClient(self.lab, self.clock, self.resolver, sink, userid, password)

    async def wait_sip_zone(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until Expressway-C's process reports its traversal zone Active in its status file."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            data = read_zone(self.state / "zone-expressway-c.json")
            if data is not None and data.get("status") == ACTIVE:
                return True
            await asyncio.sleep(0.05)
        return False

    async def stop(self) -> None:
        try:
            await self.processes.stop()
        finally:
            for sink in self.sinks.values():
                if isinstance(sink, LineSink):
                    sink.close()
            shutil.rmtree(self.state, ignore_errors=True)


async def start_process_run(lab_file: Path, folder: Path, sso: bool = False) -> ProcessRun:
    """Every node of ``lab_file`` in its own process, writing into ``folder``; ``sso``: with SAML SSO on."""
    state = Path(tempfile.mkdtemp(prefix="mrasim-run-"))
    try:
        text = lab_file.read_text()
        if sso and not re.search(r"(?m)^\[idp\]", text):
            text += f"\n[idp]\nlisten_port = {DEFAULT_IDP_PORT}\n"  # given here, so that it is moved to a free one
        file = state / f"{lab_file.stem}-run.toml"
        file.write_text(with_free_ports(text))
        processes = await start_processes(file, folder, state, fresh_logs=True, sso=sso)
    except BaseException:
        shutil.rmtree(state, ignore_errors=True)
        raise
    lab = processes.lab
    sinks: dict[str, LineSink | LogFileRecords] = {
        "jabber": LineSink(folder / log_name("jabber", lab)),
        "expressway-c": LogFileRecords(folder / log_name("expressway-c", lab), settle=True)}
    return ProcessRun(processes, network(lab, state), LabClock(), sinks, state)
