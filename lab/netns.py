"""``mrasim up --netns``: the nodes in network namespaces behind the firewall a real MRA deployment has.

Three zones, as in Cisco's MRA deployment guide ("Firewall and NAT requirements"):

* **inside** — Expressway-C, CUCM and IM&P, in namespace ``mrasim-<n>-inside`` at :data:`INSIDE_NODE`;
* **DMZ** — Expressway-E, in ``mrasim-<n>-dmz``, with two interfaces: internal (:data:`DMZ_INSIDE`, where the traversal
  zone's listeners are) and external (:data:`DMZ_OUTSIDE`, HTTPS and XMPP for clients);
* **internet** — the host's own namespace (:data:`INTERNET`): Jabber, curl and the lab's control API.

Two veth pairs join them (inside↔DMZ, DMZ↔internet); the DMZ does not route, so the inside is not reachable from the
internet at all. nftables in the DMZ lets through only what a real MRA firewall allows — inside→DMZ the SSH tunnel
(2222), the SIP traversal zone (7001) and XCP (7400), internet→DMZ HTTPS (8443), XMPP (5222) and SIP (5061), each
mapped to the port the lab really listens on — and rejects anything the DMZ starts toward the inside. The inside's
own table drops any new connection arriving from the DMZ. iproute2 and nftables are Debian's (``ip``, ``nft``).

Without root, or without ``ip``/``nft``, or where namespaces cannot be made, :func:`unavailable` says why and the lab
runs on loopback instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from common.labmodel import Lab

INSIDE_NET, OUTSIDE_NET = "10.213.1", "10.213.2"
DMZ_INSIDE, INSIDE_NODE = f"{INSIDE_NET}.1", f"{INSIDE_NET}.2"
INTERNET, DMZ_OUTSIDE = f"{OUTSIDE_NET}.1", f"{OUTSIDE_NET}.2"
SIP_TRAVERSAL, SIP_CLIENT = 7001, 5061  # nominal SIP ports, for a lab file whose SIP listen ports are 0


def unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed (Debian: apt-get install -y {package})"
    probe = f"mrasim-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip() or made.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def rewrite_addresses(text: str) -> str:
    """The lab file's text with each node's ``address`` set to its zone's: E external (and ``internal_address``
    internal), every inside node at :data:`INSIDE_NODE`, Jabber on the host's side (:data:`INTERNET`). Other keys
    stay as written."""
    where = {"[expressway_e]": (DMZ_OUTSIDE, DMZ_INSIDE), "[expressway_c]": (INSIDE_NODE, None),
             "[[clusters]]": (INSIDE_NODE, None), "[[imp]]": (INSIDE_NODE, None), "[unity]": (INSIDE_NODE, None),
             "[jabber]": (INTERNET, None)}
    out: list[str] = []
    current: str | None = None
    for line in text.splitlines():
        header = re.match(r"^\s*(\[\[?[\w.]+\]\]?)", line)
        if header:
            current = header.group(1) if header.group(1) in where else None
            out.append(line)
            if current is not None:
                address, internal = where[current]
                out.append(f'address = "{address}"')
                if internal is not None:
                    out.append(f'internal_address = "{internal}"')
            continue
        if current is not None and re.match(r"^\s*(address|internal_address)\s*=", line):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def firewall(lab: Lab, inside_if: str, outside_if: str) -> str:
    """The DMZ's nftables ruleset for this lab's listen ports."""
    edge = lab.edge
    inward = sorted({edge.tunnel.listen_port, edge.xcp.listen_port, lab.sip.zone.listen_port or SIP_TRAVERSAL})
    outward = sorted({edge.listener.listen_port, edge.xmpp.listen_port, lab.sip.edge.listen_port or SIP_CLIENT})
    return f"""table inet mrasim {{
  chain input {{
    type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
    iifname "{inside_if}" ip saddr {INSIDE_NET}.0/24 tcp dport {{ {', '.join(map(str, inward))} }} accept
    iifname "{outside_if}" tcp dport {{ {', '.join(map(str, outward))} }} accept
  }}
  chain output {{
    type filter hook output priority 0; policy accept;
    oifname "{inside_if}" ct state new reject with tcp reset
  }}
}}
"""


INSIDE_RULES = """table inet mrasim {{
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname "{inside_if}" ct state new drop
  }}
}}
"""


@dataclass
class Topology:
    """The namespaces, links and rules of one lab; :meth:`create` makes them, :meth:`destroy` removes them."""

    tag: str

    @property
    def inside(self) -> str:
        return f"mrasim-{self.tag}-inside"

    @property
    def dmz(self) -> str:
        return f"mrasim-{self.tag}-dmz"

    def namespace(self, node: str) -> str:
        return self.dmz if node == "expressway-e" else self.inside

    def exec_prefix(self, node: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(node)]

    def _links(self) -> tuple[str, str, str, str]:
        return (f"mi{self.tag}d", f"mi{self.tag}i", f"mx{self.tag}d", f"mx{self.tag}h")

    def create(self, lab: Lab) -> None:
        dmz_in, inside, dmz_out, host = self._links()
        steps = [
            ["ip", "netns", "add", self.inside], ["ip", "netns", "add", self.dmz],
            ["ip", "link", "add", dmz_in, "type", "veth", "peer", "name", inside],
            ["ip", "link", "set", dmz_in, "netns", self.dmz], ["ip", "link", "set", inside, "netns", self.inside],
            ["ip", "link", "add", dmz_out, "type", "veth", "peer", "name", host],
            ["ip", "link", "set", dmz_out, "netns", self.dmz],
            ["ip", "-n", self.dmz, "addr", "add", f"{DMZ_INSIDE}/24", "dev", dmz_in],
            ["ip", "-n", self.inside, "addr", "add", f"{INSIDE_NODE}/24", "dev", inside],
            ["ip", "-n", self.dmz, "addr", "add", f"{DMZ_OUTSIDE}/24", "dev", dmz_out],
            ["ip", "addr", "add", f"{INTERNET}/24", "dev", host],
            *[["ip", "-n", ns, "link", "set", "lo", "up"] for ns in (self.inside, self.dmz)],
            ["ip", "-n", self.dmz, "link", "set", dmz_in, "up"], ["ip", "-n", self.dmz, "link", "set", dmz_out, "up"],
            ["ip", "-n", self.inside, "link", "set", inside, "up"], ["ip", "link", "set", host, "up"],
        ]
        try:
            for step in steps:
                _run(step)
            _run(["ip", "netns", "exec", self.dmz, "nft", "-f", "-"], firewall(lab, dmz_in, dmz_out))
            _run(["ip", "netns", "exec", self.inside, "nft", "-f", "-"], INSIDE_RULES.format(inside_if=inside))
        except BaseException:
            self.destroy()
            raise

    def destroy(self) -> None:
        """Remove the namespaces (their veth ends go with them, and so do the host's peers)."""
        for ns in (self.dmz, self.inside):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self._links()[3]], capture_output=True)


def _run(command: list[str], stdin: str | None = None) -> None:
    done = subprocess.run(command, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip() or done.returncode}")


def new_topology() -> Topology:
    return Topology(str(os.getpid() % 100000))
