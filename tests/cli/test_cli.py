"""The ``mrasim`` command as a user runs it."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import aiohttp
import pytest

from common.basic import basic_header
from common.config import DEFAULT_LAB, load_lab
from cli.main import main
from cli.serve import describe, describe_data
from lab.running import start_lab

README = Path(__file__).resolve().parents[2] / "README.md"


def test_run_prints_the_seed_sequence_and_writes_its_logs_into_a_folder_of_its_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["run", "--logs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for number, name in enumerate(["get_edge_sso", "authorize", "localauthentication", "edgeconfigprovision",
                                   "authorize_proxy", "OAuthcb", "access_token", "OAuthvalidator"], start=1):
        assert f"{{{number}: {name}}}" in out
    assert "login succeeded (oauth path)" in out
    assert all(len(line) <= 100 for line in out.splitlines()), "the sequence fits the terminal"
    xmpp_rows = [line for line in out.splitlines() if " XMPP " in line]
    assert xmpp_rows and all(line.split()[-3] == "ok" for line in xmpp_rows), "XMPP rows have no HTTP status"
    next_steps = out.split("Next:")[1]
    assert "mrasim ladder" in next_steps and "mrasim up" in next_steps and "mrasim scenario" in next_steps
    latest = tmp_path / "latest"
    assert {"cucm.log", "expressway-c.log", "expressway-e.log", "jabber.log", "unity.log"} <= {
        p.name for p in latest.iterdir()}
    listed = " ".join(out.split("logs in ")[1].split("Next:")[0].split())
    assert "sdl-cucm.txt" in listed and (latest / "sdl-cucm.txt").is_file(), "CUCM's SIP trace is named with the logs"
    _one_numbering(out, latest)
    first = latest.resolve()
    assert main(["run", "--logs", str(tmp_path)]) == 0
    assert latest.resolve() != first and len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3


def _one_numbering(out: str, logs: Path) -> None:
    """Issue 12: `mrasim run`'s table, the ladder of the logs it wrote, and docs/flow.md number the steps alike."""
    from analyzer.diagnose import analyze
    from analyzer.ladder import step_numbers

    run = [(int(m.group(1)), m.group(2), line[27:41].strip()) for line in out.splitlines()
           if (m := re.match(r"\{(\d+): ([^}]+)\}", line))]
    assert [n for n, _, _ in run] == list(range(1, len(run) + 1)) and len(run) >= 23
    session = next(s for s in analyze([logs]).sessions if s.kind == "login")
    ladder = [tag for tag in step_numbers(session) if tag]
    assert ladder == [f"{{{n}: {name}}}" for n, name, _ in run], "mrasim ladder numbers as mrasim run does"
    flow = (README.parent / "docs" / "flow.md").read_text()
    table = flow.split("<!-- step-numbers")[1].split("<!-- /step-numbers -->")[0]
    rows = [tuple(cell.strip() for cell in line.strip("|").split("|")) for line in table.splitlines()
            if re.match(r"\| \d+ \|", line)]
    assert rows == [(str(n), name, hop) for n, name, hop in run], "docs/flow.md's list is what mrasim run prints"
    for number, name in re.findall(r"\{(\d+): ([A-Za-z_][\w .]*)\}", flow):
        assert (int(number), name) in {(n, step) for n, step, _ in run}, f"docs/flow.md: {{{number}: {name}}}"


def test_the_readme_trackingid_recipe_finds_one_request_after_two_runs(tmp_path: Path) -> None:
    """Each run has its own folder, so Txn-id 2006 is in logs/latest/expressway-e.log once (issue 17)."""
    for _ in range(2):
        assert main(["run", "--logs", str(tmp_path)]) == 0
    recipe = ("T=$(grep -o 'Txn-id=\"2006\" TrackingID=\"[^\"]*\"' logs/latest/expressway-e.log | cut -d'\"' -f4)\n"
              "awk -v t=\"TrackingID: $T\" '/^[0-9][0-9][0-9][0-9]-/{h=$0} index($0,t){print h}' "
              "logs/latest/expressway-c.log")
    assert recipe.split("\n")[0] in README.read_text()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "logs").symlink_to(tmp_path)
    done = subprocess.run(["bash", "-c", recipe], cwd=tmp_path / "work", capture_output=True, text=True, check=True)
    found = done.stdout.strip().splitlines()
    assert len(found) == 1 and 'Txn-id="6115"' in found[0]
    from analyzer.diagnose import analyze

    one, both = analyze([tmp_path / "latest"]), analyze([tmp_path])
    assert both.corpus.bytes_read == sum(p.stat().st_size for p in tmp_path.glob("2*/*"))
    assert 0 < one.corpus.bytes_read < both.corpus.bytes_read, "logs/latest is not read a second time"


def test_run_exits_1_and_names_the_step_when_login_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--logs", str(tmp_path), "--user", "aokanlawon", "--password", "wrong"]) == 1
    assert "login FAILED at localauthentication" in capsys.readouterr().out


def test_help_explains_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("up", "serve", "run"))


def test_a_broken_lab_file_is_reported_with_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "lab.toml"
    broken.write_text(DEFAULT_LAB.read_text().replace('debug = true', 'debgu = true'))
    assert main(["--lab", str(broken), "run", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "lab.debgu: unknown key" in err


async def test_up_describes_what_a_person_needs_to_drive_the_lab() -> None:
    """The curl line 'mrasim up' prints works as printed: TLS checked against the lab CA, E's name on its certificate."""
    running = await start_lab(load_lab().with_ephemeral_ports())
    try:
        text = describe(running)
        data = describe_data(running)  # what 'mrasim up --json' prints
        port = running.edge_port
        command = next(line.strip() for line in text.splitlines() if "get_edge_sso" in line and "curl" in line)
        proc = await asyncio.create_subprocess_shell(command, stdout=asyncio.subprocess.PIPE,
                                                     stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
    finally:
        await running.stop()
    assert "bGFiLmV4YW1wbGU" in text and "aokanlawon / Cisco!123" in text
    assert "client_id=C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1" in text
    assert f"--resolve expe.lab.example:{port}:127.0.0.1" in text and "--cacert" in text
    assert proc.returncode == 0, err.decode()
    assert b"HTTP/1.1 200" in out and b'<Token reuse="true"/>' in out
    assert data["edge"]["listening"] == f"https://expe.lab.example:{port}" and data["segment"] == "bGFiLmV4YW1wbGU"
    assert data["user"] == {"userid": "aokanlawon", "password": "Cisco!123"}


async def serve_node(lab_file: Path, node: str, tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "--lab", str(lab_file), "serve", node,
                             "--into", str(tmp_path), "--state", str(tmp_path / "state")],
                            stdout=subprocess.PIPE, text=True)
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)  # type: ignore[union-attr]
    return proc, int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]


async def test_serve_runs_cluster_nodes_in_their_own_processes_sharing_the_database(tmp_path: Path) -> None:
    data = tomllib.loads(DEFAULT_LAB.read_text())
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(DEFAULT_LAB.read_text().replace(f"listen_port = {data['clusters'][0]['listen_port']}",
                                                        "listen_port = 0")
                        + '[[clusters.subscribers]]\nhost = "cucm-sub1"\nlisten_port = 0\n')
    publisher, pub_port = await serve_node(lab_file, "cucm", tmp_path)
    procs = [publisher]
    try:
        subscriber, sub_port = await serve_node(lab_file, "cucm:cluster1:cucm-sub1", tmp_path)
        procs.append(subscriber)
        kids = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
            async with session.get(f"https://127.0.0.1:{pub_port}/cucm-uds/clusterUser?username=aokanlawon",
                                   headers={"Host": "cucm.lab.example:8443"}) as resp:
                assert resp.status == 200 and 'found="true"' in await resp.text()
            for port in (pub_port, sub_port):
                async with session.get(f"https://127.0.0.1:{port}/ssosp/token/authz_keys",
                                       headers={"Authorization": basic_header("axladmin", "Axl!Pass123")}) as resp:
                    kids.append((await resp.json())["signing_kid"])
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    assert kids[0] == kids[1]
    assert (tmp_path / "cucm.log").exists() and (tmp_path / "cucm-sub1.log").exists()


def test_serve_expressway_c_without_cucm_says_the_keys_are_missing_and_what_to_do(tmp_path: Path) -> None:
    from lab.processes import with_free_ports

    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "expressway-c", "--lab", str(lab_file),
                             "--logs", str(tmp_path / "logs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert "serving" in proc.stdout.readline()  # type: ignore[union-attr]
        warning = proc.stderr.readline()  # type: ignore[union-attr]
    finally:
        proc.terminate()
        proc.wait(10)
    assert "could not fetch the AuthZ keys of cluster1" in warning
    assert "mrasim serve cucm" in warning and "mrasim xcommand RefreshServers" in warning
    assert (tmp_path / "logs" / "latest" / "expressway-c.log").exists()


def test_up_writes_a_run_folder_of_its_own_and_ctrl_c_ends_it_with_status_0(tmp_path: Path) -> None:
    """Status 0 on Ctrl-C, so 'make up' does not end with 'make: *** [up] Error 130'."""
    import signal

    from lab.processes import with_free_ports

    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "expressway-e.log").write_text("an old run's log, left where it was\n")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--lab", str(lab_file), "--logs",
                             str(tmp_path / "logs"), "--state", str(tmp_path / "state")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if "Logs are written to" in line:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err
    latest = tmp_path / "logs" / "latest"
    assert latest.is_symlink() and str(latest.resolve()) in line
    assert "Txn-id" not in (tmp_path / "logs" / "expressway-e.log").read_text()
    assert (latest / "expressway-e.log").exists()


def test_the_makefile_announces_the_first_install_and_shows_its_progress() -> None:
    """The 30-second first install used to print nothing (issue 17)."""
    makefile = (README.parent / "Makefile").read_text()
    install = makefile.split("$(STAMP): pyproject.toml")[1].split("\n\n")[0]
    assert "about 30 s" in install and "--progress-bar on" in install
    assert "-e '.[test]'" in install and all("--quiet" not in line for line in install.splitlines()
                                             if "-e '.[test]'" in line)
    assert "mrasim run\n" in makefile and "--out" not in makefile


def test_serve_stops_cleanly_on_a_double_ctrl_c(tmp_path: Path) -> None:
    """'up --processes' under a terminal: each node gets Ctrl-C from the terminal and again from the supervisor."""
    import signal

    from lab.processes import with_free_ports

    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "expressway-e", "--lab", str(lab_file),
                             "--into", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert "serving" in proc.stdout.readline()  # type: ignore[union-attr]
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err and "Exception ignored" not in err
