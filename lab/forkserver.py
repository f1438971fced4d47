"""The node processes of ``up --processes`` forked from one preloaded interpreter, instead of each started afresh.

A fresh interpreter per node spent most of its start importing aiohttp, cryptography, lxml and asyncssh (about 1 s of
CPU each, ~78 % of a node's start, docs/performance.md), four or five at once on two cores. The fork server imports
them once and forks every node from that state (``fork(2)`` shares the imported modules copy-on-write), the way
Android's zygote and ``multiprocessing``'s ``forkserver`` start method do. ``mrasim up --processes`` forks the fork
server from itself before its event loop or any thread exists (:meth:`ForkServer.fork_here`: the command line has
imported every node already); anything that starts a lab from inside a running loop (``storm --processes``,
``run --processes``, the benchmarks, the tests) starts it as a fresh interpreter (:meth:`ForkServer.spawn`).

For the user nothing changes: every node is still a **child of the supervisor** holding both lifelines of
:mod:`lab.lifeline`, with its own pid, log file and ``mrasim serve`` arguments. To that end:

* the supervisor is a child subreaper (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``, prctl(2)), and the fork server forks
  each node through a short-lived intermediate process that exits at once, so the kernel re-parents the node to the
  supervisor, which waits for it like any child (a pidfd, pidfd_open(2));
* the supervisor makes the node's stdin (the lifeline pipe, whose write end only the supervisor holds) and stdout
  (the ``serving`` line) itself and hands the node's ends to the fork server with ``SCM_RIGHTS``; the node closes
  every other descriptor it inherited;
* a forked node waits for the supervisor's start line (:func:`lab.lifeline.gated`) before anything else, and the
  supervisor sends it only once the node is its child, so the death signal is set against the supervisor.

The fork server itself holds the lifelines too, and ends when the supervisor closes its socket. Where this cannot be
done (not Linux, ``--netns``, whose nodes start through ``ip netns exec``, or ``MRASIM_FORK=0``), the nodes start as
fresh interpreters, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable

from lab.lifeline import SUPERVISOR_ENV, child_env, gated, set_death_signal

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
PR_SET_NAME = 15
# What a node (cli.servenode) or the control API's process (lab.processcontrol) imports: loaded once, here.
PRELOAD = ("cli.servenode", "edge.node", "core.node", "cucm_stub.app", "presence.node", "idp.node",
           "lab.processcontrol")
# The functions a forked child may run, by name: what ``-c`` ran in a fresh interpreter.
ENTRIES: dict[str, str] = {"serve": "cli.servenode:main", "control": "lab.processcontrol:relay_main"}


def enabled() -> bool:
    """Whether nodes can be forked here: Linux (subreaper, pidfd) and not turned off with ``MRASIM_FORK=0``."""
    return (sys.platform.startswith("linux") and hasattr(os, "pidfd_open")
            and os.environ.get("MRASIM_FORK", "1") != "0")


def _prctl(option: int, value: int | bytes) -> bool:
    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class ForkServer:
    """The supervisor's end of a fork server: ``start(entry, argv)`` returns a :class:`ForkedProcess`."""

    def __init__(self, sock: socket.socket, pid: int, process: asyncio.subprocess.Process | None = None) -> None:
        self.sock, self.pid, self._process = sock, pid, process
        self._lock: asyncio.Lock | None = None

    @classmethod
    def fork_here(cls) -> ForkServer | None:
        """Fork the fork server from this process, which has imported the nodes; only before any event loop or
        thread exists (a thread holding a lock at the fork would leave it held in the child). None where not
        :func:`enabled`."""
        if not enabled() or threading.active_count() > 1 or not _prctl(PR_SET_CHILD_SUBREAPER, 1):
            return None
        preload()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            code = 1
            try:
                set_death_signal()  # its other lifeline is its socket: end of file when the supervisor is gone
                code = serve_forks(theirs)
            finally:
                os._exit(code)
        theirs.close()
        return cls(ours, pid)

    @classmethod
    async def spawn(cls) -> ForkServer | None:
        """A fork server in a fresh interpreter, for a supervisor whose event loop already runs; None where not
        :func:`enabled`."""
        if not enabled() or not _prctl(PR_SET_CHILD_SUBREAPER, 1):
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _SERVER, str(theirs.fileno()), pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL, preexec_fn=_ignore_sigint, env=child_env())
        finally:
            theirs.close()
        return cls(ours, process.pid, process)

    async def start(self, entry: str, argv: list[str]) -> ForkedProcess:
        """Fork a child that runs ``ENTRIES[entry](argv)`` once released (:func:`release`); it is our child."""
        loop = asyncio.get_running_loop()
        if self._lock is None:
            self._lock = asyncio.Lock()
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        try:
            async with self._lock:
                self.sock.setblocking(False)
                request = json.dumps({"entry": entry, "argv": argv, "supervisor": os.getpid()}).encode()
                socket.send_fds(self.sock, [request], [stdin_r, stdout_w])  # a few bytes: never blocks
                reply = json.loads(await loop.sock_recv(self.sock, 4096) or b'{"error": "the fork server ended"}')
        except BaseException:
            for fd in (stdin_w, stdout_r):
                os.close(fd)
            raise
        finally:
            os.close(stdin_r)
            os.close(stdout_w)
        if "pid" not in reply:
            os.close(stdin_w)
            os.close(stdout_r)
            raise OSError(f"the fork server could not start {entry} {' '.join(argv)}: {reply.get('error')}")
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(stdout_r, "rb", 0))
        return ForkedProcess(int(reply["pid"]), LifelinePipe(stdin_w), reader)

    async def close(self) -> None:
        """End the fork server (it exits when its socket closes) and reap it."""
        self.sock.close()
        if self._process is not None:
            await self._process.wait()
            return
        with contextlib.suppress(ChildProcessError):
            await asyncio.get_running_loop().run_in_executor(None, os.waitpid, self.pid, 0)


class LifelinePipe:
    """The write end of a forked child's stdin: the start line, then held open as its lifeline (lab/lifeline.py)."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def write(self, data: bytes) -> None:
        assert self.fd is not None
        os.write(self.fd, data)  # a line into an empty pipe: never blocks

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class ForkedProcess:
    """A child forked by the fork server, with the parts of :class:`asyncio.subprocess.Process` the lab uses."""

    def __init__(self, pid: int, stdin: LifelinePipe, stdout: asyncio.StreamReader) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout
        self.returncode: int | None = None
        self._loop = asyncio.get_running_loop()
        self._exited = self._loop.create_future()
        self._pidfd = os.pidfd_open(pid)  # readable once the child has exited; it is ours to reap
        self._loop.add_reader(self._pidfd, self._reap)

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else: its status is lost
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self.returncode = os.waitstatus_to_exitcode(status)
        if not self._exited.done():
            self._exited.set_result(self.returncode)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def preload() -> None:
    for module in PRELOAD:
        importlib.import_module(module)


def _ignore_sigint() -> None:
    """A Ctrl-C in the terminal reaches the whole process group; the fork server ends with the supervisor instead."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# The fork server as a fresh interpreter: the death signal first (its socket is its other lifeline), then the imports.
_SERVER = ("import os, socket, sys, lab.lifeline as life, lab.forkserver as f; life.set_death_signal(); "
           "life.supervisor_pid() == os.getppid() or sys.exit(1); f.preload(); "
           "sys.exit(f.serve_forks(socket.socket(fileno=int(sys.argv[1]))))")


def serve_forks(sock: socket.socket) -> int:
    """Fork a child for each request on ``sock`` until the supervisor closes it."""
    _ignore_sigint()
    sock.setblocking(True)
    gc.freeze()  # the imported modules' objects: no collection in a child touches (and so copies) their pages
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 65536, 2)
        except OSError:
            return 0
        if not message:
            return 0
        try:
            request = json.loads(message)
            reply = {"pid": _fork_child(sock, request, fds)} if len(fds) == 2 else {"error": "two descriptors needed"}
        except (OSError, ValueError, KeyError) as exc:
            reply = {"error": str(exc)}
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(json.dumps(reply).encode())


def _fork_child(sock: socket.socket, request: dict[str, object], fds: list[int]) -> int:
    """Fork through an intermediate that exits at once, so the child is re-parented to the supervisor (a
    subreaper); the child's pid once the intermediate has exited."""
    entry = ENTRIES[str(request["entry"])]
    read_pid, write_pid = os.pipe()
    intermediate = os.fork()
    if intermediate == 0:
        try:
            os.close(read_pid)
            child = os.fork()
            if child == 0:
                os.close(write_pid)
                _become(sock, entry, request, fds)
            os.write(write_pid, str(child).encode())
        finally:
            os._exit(0)
    os.close(write_pid)
    with os.fdopen(read_pid, "rb") as pipe:
        pid = pipe.read()
    os.waitpid(intermediate, 0)
    if not pid:
        raise OSError("the intermediate process failed to fork")
    return int(pid)


def _become(sock: socket.socket, entry: str, request: dict[str, object], fds: list[int]) -> None:
    """In the forked child: its stdin and stdout, nothing else inherited, SIGINT as in a fresh interpreter, then the
    entry once the supervisor releases it. Never returns."""
    code = 1
    try:
        os.dup2(fds[0], 0)
        os.dup2(fds[1], 1)
        sock.detach()  # the closerange below closes it; the object must not close a reused number later
        os.closerange(3, _max_fd())
        signal.signal(signal.SIGINT, signal.default_int_handler)
        argv = [str(arg) for arg in request["argv"]]  # type: ignore[attr-defined]
        os.environ[SUPERVISOR_ENV] = str(request["supervisor"])
        name = argv[argv.index("serve") + 1] if "serve" in argv[:-1] else str(request["entry"])
        _prctl(PR_SET_NAME, name.encode()[:15])
        sys.argv = ["mrasim", *argv]
        module, _, function = entry.partition(":")
        main: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
        code = gated(main, argv, forked=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        code = 0
    except BaseException:  # noqa: BLE001 - a child must never return into the fork server's loop
        import traceback
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _max_fd() -> int:
    try:
        return max(int(fd) for fd in os.listdir("/proc/self/fd")) + 1
    except (OSError, ValueError):
        return os.sysconf("SC_OPEN_MAX")

