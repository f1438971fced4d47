"""Expressway-C's requests into the internal network, logged the way edgeconfigprovisioning logs them.

The seed shows each call as an ``Action="Send"`` line and an ``Action="Received"`` line, with the message in an
``HTTPMSG`` block whose request line reads ``GET //<host>:<port>/<path>`` and whose headers are printed as Python lists
(``Content-Type: ['application/x-www-form-urlencoded']``): the provisioning service is written in Python. Secrets are
``<CONCEALED>``; the OAuthvalidator body is ``{"token": "<concealed>"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from yarl import URL

from common.conceal import conceal_body, conceal_header, conceal_params
from common.hop import HopClient, HopError, HopResponse
from common.logformats.expressway import EDGECONFIG, HttpMessage
from common.nodelog import ExpresswayLog
from common.trafficlog import tls_dial_failed

UDS_MODULE = "network.http.edgeconfigprovisioning"
SSO_MODULE = "network.http.sso.server"


class Upstream:
    def __init__(self, hop: HopClient, log: ExpresswayLog, user_agent: str) -> None:
        self.hop = hop
        self.log = log
        self.user_agent = user_agent

    async def call(
        self,
        module: str,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        form: Sequence[tuple[str, str]] | None = None,
        json_text: str | None = None,
    ) -> HopResponse:
        """Send one request, log both directions, and return the answer; :class:`HopError` if unreachable."""
        sent: dict[str, str] = dict(headers or {})
        body: str | None = None
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(list(form))
        elif json_text is not None:
            sent["Content-Type"] = "application/json"
            body = json_text
        sent.setdefault("User-Agent", self.user_agent)
        # The concealed URL appears only in DEBUG lines and the ERROR line: at INFO a call that succeeds needs none.
        if self.log.debug_enabled:
            self.log.write(EDGECONFIG, "DEBUG", {"Action": "Send", "Url": conceal_params(url)}, module=module,
                           block_tag="HTTPMSG", block=self._request_block(method, url, sent, body))
        try:
            response = await self.hop.request(method, url, headers=sent, data=body)
        except HopError as exc:
            if exc.kind == "tls":
                tls_dial_failed(self.log, url, self.address(url), exc.detail, exc.verify)
            self.log.write(EDGECONFIG, "ERROR", {"Action": "Failed", "Url": conceal_params(url), "Reason": exc.kind,
                                                 "Detail": exc.detail}, module=module)
            raise
        if self.log.debug_enabled:
            self.log.write(EDGECONFIG, "DEBUG", {"Action": "Received", "Request-url": conceal_params(url)},
                           module=module, block_tag="HTTPMSG", block=self._response_block(response))
        return response

    def address(self, url: str) -> str:
        target = URL(url)
        try:
            return self.hop.resolver.locate(target.host or "", target.port or 0)[0]
        except LookupError:
            return ""

    @staticmethod
    def _request_block(method: str, url: str, headers: Mapping[str, str], body: str | None) -> str:
        target = URL(url)
        line = conceal_params(f"{method} //{target.host}:{target.port}{target.raw_path_qs}")
        if body is None:
            return line
        shown = [(k, conceal_header(k, v)) for k, v in headers.items() if k.lower() != "host"]
        content_type = headers.get("Content-Type", "")
        return HttpMessage(f"{line} HTTP/1.1", shown, conceal_body(body, content_type)).render(list_values=True) + "\n"

    @staticmethod
    def _response_block(response: HopResponse) -> str:
        shown = [(k, conceal_header(k, v)) for k, v in response.headers.items()
                 if k.lower() not in ("content-length", "date", "server")]
        body = conceal_body(response.text(), response.headers.get("Content-Type", ""), response=True)
        return HttpMessage(f"HTTP/1.1 {response.status} {response.reason}", shown, body).render(list_values=True)
