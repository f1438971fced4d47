"""Read whatever the engineer was given — files, folders, ``.tar.gz`` diagnostic bundles — into one :class:`Corpus`.

Formats and nodes are recognised by content, never by file name: a Jabber problem report renames everything, a
bundle names logs after the appliance, and a pasted excerpt mixes Expressway-E, Expressway-C and Jabber lines in one
file. Every record goes through the single definitions in :mod:`common.logformats`; a file that the clean splitter
cannot read completely is handed to :mod:`analyzer.normalize` first.

Nothing here raises on bad input: binary files, truncated bundles, unknown members and absurdly long lines become
entries in ``Corpus.problems`` and the rest is still read (issue 6, "Bad input").
"""

from __future__ import annotations

import calendar
import io
import os
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from common.logformats.csf import CsfLine
from common.logformats.expressway import ExpresswayLine, parse_fast, split_records
from common.logformats.log4j import Log4jLine
from common.logformats.shibboleth import ShibbolethLine
from common.logformats.sip import SdlLine, is_sdl_head

from analyzer import clocks, fastpath, hosts, tolerant
from analyzer.model import CORE, CUCM, IDP, IMP, JABBER, UNITY, Corpus, Event
from analyzer.normalize import lines_of, repair, unpaste

MAX_LINE = 1 << 20
STREAM_AT = 64 << 20  # files larger than this are read a piece at a time
STREAM_CHUNK = 32 << 20
KEEP_ALL = 1 << 30  # past this much input only records above DEBUG are kept: memory stays bounded on a 2 GB log
_DIGITS = frozenset("0123456789")
_CSF_AGAIN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ +\[0x")
MAX_MEMBER = 2 << 30
CONFIG_MEMBERS = ("xconf", "xstat")
KNOWN_MODULES = frozenset({
    "network.http.trafficserver", "network.http.edgeconfigprovisioning", "network.http.sso.server",
    "developer.edgeconfigprovisioning.server", "developer.credentialmanager.OAuthinspector", "Jabber",
    "network.ssh", "network.xcp", "network.sip",
})
LOG4J_NODES = {"token": CUCM, "uds": CUCM, "cleanup": CUCM, "authz.AuthzKeyManager": CUCM, "xcp": IMP, "epas": IMP, "xmlframework": IMP,
               "authz.AuthZServerRefresher": UNITY, "vmrest": UNITY, "diagnostics": CUCM,
               # TLS (issue 11): Certificate Management's events, and Tomcat's failed handshakes (any Tomcat node)
               "com.cisco.security.certmgmt.CertificateMonitor": CUCM, "org.apache.tomcat.util.net.NioEndpoint": CUCM,
               # IM and Presence's admin (cupadmin log, doc 217514): com.cisco.cup.services / Presence Topology
               "services.ServiceUtil": IMP, "logging.IMPCommonLogger": IMP, "actions.TopologyNodeStatusAction": IMP,
               "actions.TopologyNodeStatusAction$ServiceRunner": IMP}


def load(paths: Iterable[str | Path]) -> Corpus:
    """Read every path (file, folder or bundle) into one corpus with aligned clocks."""
    corpus = Corpus()
    for path in paths:
        for name, data, first_line in _sources(Path(path), corpus):
            read_text(corpus, name, data, first_line)
    return _finish(corpus)


def load_texts(texts: Iterable[tuple[str, bytes]]) -> Corpus:
    """Logs already in memory, as ``(name, content)`` pairs: a live lab's records (the training page) are read
    exactly as files are."""
    corpus = Corpus()
    for name, data in texts:
        read_text(corpus, name, data)
    return _finish(corpus)


def _finish(corpus: Corpus) -> Corpus:
    hosts.classify(corpus)
    clocks.align(corpus)
    corpus.events.sort(key=lambda e: (e.time if e.time is not None else 0.0))
    return corpus


def _chunks(path: Path, corpus: Corpus) -> Iterator[tuple[str, bytes, int]]:
    """A large log read ``STREAM_CHUNK`` at a time, each piece cut before a line that opens a record (a digit), so
    memory holds one piece, not the file; line numbers continue across pieces."""
    line, rest = 1, b""
    try:
        with path.open("rb") as handle:
            while True:
                block = handle.read(STREAM_CHUNK)
                data = rest + block
                if not block:
                    if data:
                        yield str(path), data, line
                    return
                cut = max(data.rfind(b"\n2"), data.rfind(b"\n0"))
                if cut <= 0:  # no record opens in the piece: cut at a line (a block longer than a piece)
                    cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                piece, rest = data[:cut + 1], data[cut + 1:]
                yield str(path), piece, line
                line += piece.count(b"\n")
    except OSError as exc:
        corpus.problems.append(f"{path}: cannot be read ({exc.strerror})")


def _sources(path: Path, corpus: Corpus) -> Iterator[tuple[str, bytes, int]]:
    if not path.exists():
        corpus.problems.append(f"{path}: no such file or folder")
        return
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        if not files:
            corpus.problems.append(f"{path}: the folder is empty")
        for file in files:
            yield from _sources(file, corpus)
        return
    try:
        with path.open("rb") as handle:
            magic = handle.read(2)
        if path.stat().st_size > STREAM_AT and magic != b"\x1f\x8b" and not path.name.endswith((".tar", ".tgz")):
            yield from _chunks(path, corpus)
            return
        data = path.read_bytes()
    except OSError as exc:
        corpus.problems.append(f"{path}: cannot be read ({exc.strerror})")
        return
    if data[:2] == b"\x1f\x8b" or path.name.endswith((".tar", ".tgz", ".tar.gz")):
        yield from ((name, content, 1) for name, content in _bundle(path, data, corpus))
    else:
        yield str(path), data, 1


def _bundle(path: Path, data: bytes, corpus: Corpus) -> Iterator[tuple[str, bytes]]:
    """The members of a diagnostic bundle; a truncated or corrupt bundle yields what could be read before the damage."""
    count = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as bundle:
            for member in bundle:
                if not member.isfile():
                    if not member.isdir():
                        corpus.problems.append(f"{path}!{member.name}: not a regular file, skipped")
                    continue
                if member.size > MAX_MEMBER:
                    corpus.problems.append(f"{path}!{member.name}: {member.size} bytes, too large, skipped")
                    continue
                handle = bundle.extractfile(member)
                if handle is None:
                    continue
                content = handle.read()
                count += 1
                if member.name.endswith((".tar.gz", ".tgz")):
                    yield from _bundle(Path(f"{path}!{member.name}"), content, corpus)
                else:
                    yield f"{path}!{member.name}", content
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if count == 0 and data[:2] == b"\x1f\x8b":
            try:
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                plain = inflater.decompress(data)
                if plain and not plain.startswith(b"\x1f\x8b") and b"ustar" not in plain[257:265]:
                    if not inflater.eof:
                        corpus.problems.append(f"{path}: the gzip file is truncated; the {len(plain)} bytes before "
                                               "the cut were read")
                    yield str(path), plain
                    return
            except zlib.error:
                pass
        corpus.problems.append(f"{path}: bundle damaged after {count} member(s) ({exc.__class__.__name__}: {exc});"
                               " the members before the damage were read")
    if count == 0 and not any(p.startswith(str(path)) for p in corpus.problems):
        corpus.problems.append(f"{path}: the bundle holds no files")


def _is_binary(data: bytes) -> bool:
    sample = data[:4096]
    if not sample:
        return False
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    return b"\x00" in sample or controls > len(sample) // 20


def read_text(corpus: Corpus, name: str, data: bytes, first_line: int = 1) -> None:
    """Parse one file's bytes (or one piece of a large file) into events, recording what could not be read."""
    corpus.bytes_read += len(data)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data.decode("utf-16", "replace").encode("utf-8")
    base = os.path.basename(name.split("!")[-1])
    if base.startswith(CONFIG_MEMBERS):
        corpus.files[name] = "config"
        corpus.config[base] = data.decode("utf-8", "replace")
        return
    if _is_binary(data):
        corpus.files[name] = "binary"
        corpus.problems.append(f"{name}: binary data, not a log; skipped")
        return
    text = data.decode("utf-8", "replace")
    if not text.strip():
        corpus.files[name] = "empty"
        return
    text = unpaste(text)
    if _has_long_line(text):
        corpus.problems.append(f"{name}: lines longer than {MAX_LINE} characters were cut")
        text = "\n".join(line[:MAX_LINE] for line in text.split("\n"))
    before = len(corpus.events)
    failed: list[tuple[int, str]] = []
    clean = fastpath.read_clean_expressway(text, first_line) if fastpath.ENABLED and text[10:11] == "T" else None
    if clean is not None:
        _add_clean(corpus, name, clean)
        bad = 0
    else:
        bad = _parse_records(corpus, name, lines_of(list(split_records(text)), first_line), failed)
    if bad:
        del corpus.events[before:]
        failed.clear()
        fixed = repair(text)
        _parse_records(corpus, name, iter(fixed.records), failed)
        loose, lost = tolerant.read_lines(sorted(fixed.left + failed), name)
        corpus.events.extend(loose)
        corpus.unparsed += lost
    if corpus.bytes_read > KEEP_ALL:
        if not any(p.startswith("input beyond") for p in corpus.problems):
            corpus.problems.append(f"input beyond {KEEP_ALL >> 20} MiB: only records above DEBUG are kept from there on "
                                   "(memory stays bounded)")
        corpus.events[before:] = [e for e in corpus.events[before:] if e.level != "DEBUG"]
    parsed = corpus.events[before:]
    if not parsed and name in corpus.files:
        return
    if not parsed:
        corpus.files[name] = "unknown"
        corpus.problems.append(f"{name}: no line in a known log format (no Expressway, Jabber, CUCM, IM&P or "
                               "Unity record in any of the shapes they are pasted in); skipped")
        return
    kinds = {e.fmt for e in parsed} | set(corpus.files.get(name, "").split("+")) - {"", "unknown", "empty"}
    corpus.files[name] = "+".join(sorted(kinds))
    if text and not text.endswith("\n") and parsed[-1].block is not None and not parsed[-1].text.endswith("|"):
        corpus.problems.append(f"{name}: ends inside a message block (truncated file)")


def _has_long_line(text: str) -> bool:
    """Whether a line holds ``MAX_LINE`` characters or more: one ``rfind`` per ``MAX_LINE`` of text, not a regex
    tried at every line start."""
    start, size = 0, len(text)
    while start + MAX_LINE <= size:
        newline = text.rfind("\n", start, start + MAX_LINE)
        if newline < 0:
            return True
        start = newline + 1
    return False


def _event(name: str, number: int, record: str, host: str, process: str, fields: dict[str, str],
           block: str | None, corpus: Corpus) -> Event:
    module = fields.get("Module")
    if module is not None and module not in KNOWN_MODULES:
        key = f"Expressway {module}"
        corpus.unknown_modules[key] = corpus.unknown_modules.get(key, 0) + 1
    fields["process"] = process
    level = fields.get("Level", "")
    if level[:1] in _DIGITS:  # tvcs event lines number their level (Level="1"): an event, not a debug line
        level = "INFO"
    return Event("", host, "xcp" if process == "XCP_JABBERD" else "expressway", _utc(fields.get("UTCTime", "")),
                 level, fields, record, name, number, block)


def _add_clean(corpus: Corpus, name: str, records: list[fastpath.ExpresswayRecord]) -> None:
    """Events of records :func:`analyzer.fastpath.read_clean_expressway` read: what :func:`_event` makes of each."""
    append, unknown, known, stamp = corpus.events.append, corpus.unknown_modules, KNOWN_MODULES, _utc
    for number, record, host, process, fields, block in records:
        module = fields.get("Module")
        if module is not None and module not in known:
            key = f"Expressway {module}"
            unknown[key] = unknown.get(key, 0) + 1
        fields["process"] = process
        level = fields.get("Level", "")
        if level[:1] in _DIGITS:
            level = "INFO"
        append(Event("", host, "xcp" if process == "XCP_JABBERD" else "expressway", stamp(fields.get("UTCTime", "")),
                     level, fields, record, name, number, block))


def _parse_records(corpus: Corpus, name: str, records: Iterator[tuple[int, str]],
                   failed: list[tuple[int, str]] | None = None) -> int:
    """Parse records through the strict format definitions; those they reject go to ``failed`` (for
    :mod:`analyzer.tolerant`) and are counted."""
    bad = 0
    append = corpus.events.append
    log4j_node = _log4j_node(name)
    for number, record in records:
        first = record[:30]
        if len(first) > 10 and first[10] == "T":
            fast = parse_fast(record)
            if fast is not None:
                append(_event(name, number, record, *fast, corpus))
                continue
            try:
                line = ExpresswayLine.parse(record)
            except ValueError:
                bad += 1
                if failed is not None:
                    failed.append((number, record))
                continue
            append(_event(name, number, record, line.host, line.process, dict(line.fields), line.block, corpus))
            continue
        head = record.partition("\n")[0]
        if head[8:9] == "." and is_sdl_head(head):
            sdl = SdlLine.parse(record)
            append(Event(CUCM, "cucm", "sdl", None, sdl.level, {"message": sdl.text}, record, name, number))
            continue
        if " [0x" in head[:40]:
            try:
                if len(head) > 300 and _CSF_AGAIN.search(head, 30) is not None:
                    raise ValueError("several csf records run together on one line")
                csf = CsfLine.parse(head)
            except ValueError:
                bad += 1
                if failed is not None:
                    failed.append((number, record))
                continue
            append(Event(JABBER, "jabber", "csf", _naive(csf.time), csf.level,
                         {"logger": csf.logger, "function": csf.function, "message": csf.message,
                          "location": csf.location}, record, name, number))
            continue
        if head[23:26] == " - ":  # the IdP's idp-process.log (Shibboleth's logback layout): '<time> - <ip> - LEVEL'
            try:
                idp = ShibbolethLine.parse(head)
            except ValueError:
                pass
            else:
                append(Event(IDP, "idp", "idp", _naive(idp.time), idp.level, {"logger": idp.logger, "remote": idp.remote,
                                                                             "message": idp.message},
                             record, name, number))
                continue
        try:
            l4 = Log4jLine.parse(head)
        except ValueError:
            bad += 1
            if failed is not None:
                failed.append((number, record))
            continue
        # IM and Presence's XCP services name their threads after themselves ([XCPConfigMgr], doc 217304)
        by_category = IMP if l4.thread.startswith("XCP") else _category_node(l4.category, corpus)
        node = log4j_node or by_category
        append(Event(node, os.path.splitext(os.path.basename(name))[0], "log4j", _naive(l4.time), l4.level,
                     {"category": l4.category, "thread": l4.thread, "message": l4.message}, record, name, number))
    return bad


def _log4j_node(name: str) -> str | None:
    """Only a hint for files our lab names (``unity.log``, ``imp.log``); content decides otherwise."""
    base = os.path.basename(name).lower()
    if base.startswith("unity"):
        return UNITY
    if base.startswith(("imp", "cup")):
        return IMP
    return None


def _category_node(category: str, corpus: Corpus) -> str:
    for prefix in (category, category.split(".")[0]):
        if prefix in LOG4J_NODES:
            return LOG4J_NODES[prefix]
    key = f"log4j {category}"
    corpus.unknown_modules[key] = corpus.unknown_modules.get(key, 0) + 1
    return CUCM


_SECONDS: dict[str, float] = {}


def _stamp(text: str) -> float | None:
    """``YYYY-MM-DD HH:MM:SS,mmm`` → epoch seconds, read as UTC; ``None`` for anything else.

    Log records arrive many to a second, so the seconds are computed once per distinct second."""
    head = text[:19]
    base = _SECONDS.get(head)
    try:
        if base is None:
            if len(_SECONDS) > 100_000:
                _SECONDS.clear()
            base = _SECONDS[head] = float(calendar.timegm((int(text[0:4]), int(text[5:7]), int(text[8:10]),
                                                           int(text[11:13]), int(text[14:16]), int(text[17:19]),
                                                           0, 0, 0)))
        return base + int(text[20:23]) / 1000
    except (ValueError, IndexError):
        return None


_utc = _stamp
_naive = _stamp
