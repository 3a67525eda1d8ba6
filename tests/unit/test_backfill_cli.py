"""`python -m sluice_cli.backfill`: what it tells a user who cannot reach the webserver, and
the progress lines `--wait` prints."""

import socket

from sluice_cli.backfill import main, progress


def test_an_unreachable_webserver_names_make_ui_port_and_url(capsys):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["2024-01-01...2024-01-02", "--url", f"http://127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert "make ui" in err and "PORT" in err and "--url" in err


def test_progress_counts_runs_by_status():
    backfill = {
        "status": "REQUESTED",
        "runs": [{"status": "SUCCESS"}, {"status": "STARTED"}, {"status": "SUCCESS"}],
    }
    assert progress(backfill) == "requested: 3 run(s) (1 started, 2 success)"
    assert progress({"status": "REQUESTED", "runs": []}) == "requested: 0 run(s)"


def test_wait_reports_progress_while_nothing_changes(monkeypatch):
    """The daemon can take a minute to start the first run: --wait says it is still waiting
    (with the elapsed time) instead of printing nothing."""
    import sluice_cli.backfill as cli

    answers = iter(
        [{"status": "REQUESTED", "runs": []}] * 4 + [{"status": "COMPLETED", "runs": []}]
    )

    def status(url, query, variables=None):
        return {"partitionBackfillOrError": {"__typename": "PartitionBackfill", **next(answers)}}

    monkeypatch.setattr(cli, "graphql", status)
    lines: list[str] = []
    done = cli.wait("http://x", "b1", timeout=60, poll=0.01, report=lines.append, heartbeat=0)
    assert done["status"] == "COMPLETED"
    assert len(lines) == 5 and all(" after " in line for line in lines)
    assert lines[0].startswith("backfill b1: requested: 0 run(s) after ")
