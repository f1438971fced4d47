"""The MRA login as Locust users, for storms larger than one machine (docs/performance.md, "Distributed load").

    locust -f load/locustfile.py --host http://127.0.0.1:18443 MraLogin          # against 'mrasim up' (or --processes)
    locust -f load/locustfile.py --host https://expe.example.com:8443 MraLogin  # against a real Expressway-E

The steps are Jabber's, from :func:`jabber.flow.login` — the same generator the simulated client and ``mrasim storm``
drive, so there is one definition of the login. Each HTTP step is reported under its own request name
(``get_edge_sso``, ``authorize``, ``localauthentication``, ``OAuthcb``, ``access_token``, ``get_edge_config``,
``uds_user``, ``uds_devices``); a whole login is reported as ``MRA / full login``.

Two user classes:

* ``MraLogin`` signs in again and again (a login storm; each iteration is a new Jabber start).
* ``MraConnected`` signs in once, then keeps its session with ``get_edge_config`` every ~60 s (connected clients).

Settings come from the environment so that workers on other machines need only this file and the package
(``pip install -e '.[bench]'``):

``MRA_LAB``           lab file for the defaults below (default: mrasim's default lab)
``MRA_USERS``         a file of ``userid,password`` lines; else ``MRA_STORM_USERS=N`` uses mrasim's generated storm
                      users (``mrasim up --storm-users N``); else the lab's Jabber user
``MRA_DOMAIN``        the service domain (default: the lab's)
``MRA_CLIENT_ID``, ``MRA_CLIENT_SECRET``   the Jabber OAuth client (default: the lab's)
``MRA_EDGE_HOST``     ``Host`` header to send (e.g. ``expe.lab.example:8443`` when --host is a loopback address)
``MRA_INSECURE=1``    do not verify the Expressway's TLS certificate (lab certificates)
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from pathlib import Path

from locust import HttpUser, between, constant, events, task
from multidict import CIMultiDict

from common.config import DEFAULT_LAB, load_lab
from common.nodelog import CsfLog, LineSink
from common.clock import LabClock
from jabber.flow import Flow, Reply, Settings, Step, edge_config, login
from common.stormusers import storm_password, storm_userid

_LAB = load_lab(os.environ.get("MRA_LAB", DEFAULT_LAB))
_CLIENT = _LAB.client(os.environ.get("MRA_CLIENT_ID", _LAB.jabber.client_id))


def _credentials() -> list[tuple[str, str]]:
    listed = os.environ.get("MRA_USERS")
    if listed:
        rows = (line.strip().split(",", 1) for line in Path(listed).read_text().splitlines() if line.strip())
        return [(row[0], row[1]) for row in rows if len(row) == 2]
    storm = int(os.environ.get("MRA_STORM_USERS", "0"))
    if storm:
        return [(storm_userid(n), storm_password(n)) for n in range(1, storm + 1)]
    return [(_LAB.jabber.userid, _LAB.jabber.password)]


_USERS = itertools.cycle(_credentials())


class _MraUser(HttpUser):
    abstract = True

    def on_start(self) -> None:
        userid, password = next(_USERS)
        self.client.verify = os.environ.get("MRA_INSECURE") != "1"
        self.log = CsfLog(LabClock(), LineSink(keep=100), debug=False)
        self.settings = Settings(
            domain=os.environ.get("MRA_DOMAIN", _LAB.domain), edge_origin=(self.host or "").rstrip("/"),
            userid=userid, password=password, client_id=os.environ.get("MRA_CLIENT_ID", _LAB.jabber.client_id),
            client_secret=os.environ.get("MRA_CLIENT_SECRET", _CLIENT.client_secret if _CLIENT else ""),
            device_id=str(uuid.uuid4()), version=_LAB.jabber.version, state=str(int(time.time())),
        )
        self.access_token = ""

    def run_flow(self, flow: Flow, label: str) -> bool:
        """Drive one flow; each step is its own Locust request, the whole flow one ``MRA`` request."""
        started = time.perf_counter()
        step: Step = next(flow)
        try:
            while True:
                reply = self._send(step)
                step = flow.send(reply)
        except StopIteration as done:
            outcome = done.value
        error = None if outcome.ok else RuntimeError(f"{outcome.failed_step}: {outcome.reason}")
        events.request.fire(request_type="MRA", name=label, response_time=(time.perf_counter() - started) * 1000,
                            response_length=0, exception=error, context={})
        if outcome.ok and outcome.access_token:
            self.access_token = outcome.access_token
        return outcome.ok

    def _send(self, step: Step) -> Reply:
        headers = dict(step.headers)
        if os.environ.get("MRA_EDGE_HOST"):
            headers["Host"] = os.environ["MRA_EDGE_HOST"]
        data = None
        if step.form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = step.form
        with self.client.request(step.method, step.url, headers=headers, data=data, name=step.name,
                                 allow_redirects=False, catch_response=True) as response:
            if response.status_code >= 400 or response.status_code == 0:
                response.failure(f"HTTP {response.status_code}")
            else:
                response.success()
            return Reply(response.status_code, response.reason or "", CIMultiDict(response.headers.items()),
                         response.content or b"")


class MraLogin(_MraUser):
    """A login storm: every iteration is a full Jabber sign-in, as after an outage."""

    wait_time = constant(1)

    @task
    def full_login(self) -> None:
        self.run_flow(login(self.settings, self.log), "full login")


class MraConnected(_MraUser):
    """A connected client: signs in once, then refreshes its edge configuration about once a minute."""

    wait_time = between(50, 70)

    def on_start(self) -> None:
        super().on_start()
        self.run_flow(login(self.settings, self.log), "full login")

    @task
    def keepalive(self) -> None:
        if self.access_token:
            self.run_flow(edge_config(self.settings, self.access_token, self.log), "keep-alive")
