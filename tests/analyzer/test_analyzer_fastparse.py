"""The analyzer's fast Expressway reader (:func:`common.logformats.expressway.parse_fast`) must read every record
exactly as :meth:`ExpresswayLine.parse` does, or decline it; the speed of ``mrasim diagnose`` rests on it (issue 6)."""

from __future__ import annotations

from pathlib import Path

from common.logformats.expressway import ExpresswayLine, parse_fast, split_records

from analyzer.normalize import repair


def _same(record: str) -> bool:
    """``True`` when the fast path read the record; a declined record must still be one ``parse`` can judge."""
    fast = parse_fast(record)
    try:
        line = ExpresswayLine.parse(record)
    except ValueError:
        assert fast is None, record
        return False
    if fast is None:
        return False
    assert fast == (line.host, line.process, dict(line.fields), line.block), record
    return True


def test_fast_path_reads_every_lab_record_as_parse_does(lab_logs: dict[str, Path]) -> None:
    read = 0
    for folder in lab_logs.values():
        for log in folder.glob("expressway-*.log"):
            for record in split_records(log.read_text(encoding="utf-8")):
                assert _same(record), f"{log}: the fast path declined a record our own lab wrote: {record[:200]}"
                read += 1
    assert read > 500


def test_fast_path_reads_the_seed_records_as_parse_does(seed_text: str) -> None:
    records = [text for _, text in repair(seed_text).records if text[10:11] == "T"]
    assert len(records) > 20
    assert sum(_same(record) for record in records) > len(records) // 2


def test_fast_path_declines_what_it_cannot_read_exactly() -> None:
    head = '2020-05-01T11:36:18.124-06:00 expc traffic_server[16087]: UTCTime="2020-05-01 17:36:18,124" '
    tricky = [
        head + 'Module="network.http.trafficserver" Level="INFO": Detail="a="b"" Txn-id="1"',
        head + 'Module="m" Level="INFO":  Detail="two spaces"',
        head + 'Module="m" Level="INFO" Detail="say "hi" now" Txn-id="2"',
        head + 'Module="m" Level="INFO" Detail="trailing" ',
        head + 'Module="m" Level="INFO" Detail="dup" Detail="last wins"',
        head + 'Module="m" Level="INFO" Detail="tab"\tTxn-id="3"',
        head + 'Module="m" Level="DEBUG": Detail="Receive Request"\nHTTPMSG:\n|\nGET / HTTP/1.1|',
        head + 'Module="m" Level="DEBUG": Detail="x"\nMSGBODY:\nno pipes',
        '2020-05-01T11:36:18.124-06:00 expc edgeconfigprovisioning: Level="INFO" Detail="x" UTCTime="2020-05-01"',
        'not a line at all',
    ]
    # Two spaces after 'Level="…":' are the tvcs network.sip layout (common/logformats/sip.py): read, and exactly.
    assert [_same(record) for record in tricky] == [False, True, False, False, True, False, True, True, True, False]
