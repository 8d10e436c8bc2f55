"""Separate OS processes talk through the PostgreSQL bus and hot state, nothing else."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
N = 25


def run_peer(*args: str) -> dict[str, Any]:
    """Run one peer action to completion; return its JSON report."""
    done = subprocess.run([sys.executable, "-m", "tests.adapters.bus.peer_process", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report


def test_a_consumer_process_receives_what_a_producer_process_appends(app_dsn: str) -> None:
    consumer = subprocess.Popen(
        [sys.executable, "-m", "tests.adapters.bus.peer_process", "consume", "--dsn", app_dsn,
         "--stream", "ticks", "--group", "g", "--expect", str(N), "--timeout-ms", "20000"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert consumer.stdout is not None
        readable, _, _ = select.select([consumer.stdout], [], [], 20)
        assert readable, "the consumer process never became ready"
        assert json.loads(consumer.stdout.readline()) == {"ready": True}

        sent = run_peer("produce", "--dsn", app_dsn, "--stream", "ticks", "--count", str(N))
        out, err = consumer.communicate(timeout=30)
    finally:
        consumer.kill()
        consumer.wait()
    assert consumer.returncode == 0, err
    report = json.loads(out.splitlines()[-1])

    received = report["received"]
    assert [r["id"] for r in received] == [s["id"] for s in sent["sent"]]
    assert [r["message_id"] for r in received] == [s["message_id"] for s in sent["sent"]]
    assert [r["seq"] for r in received] == list(range(N))
    assert received[3]["price"] == "65003.10"
    assert {r["delivery_count"] for r in received} == {1}
    assert (report["acked"], report["pending_after"]) == (N, 0)


def test_hot_state_written_by_one_process_is_read_by_another(app_dsn: str) -> None:
    quote = {"bid": "65000.10", "ask": "65000.20", "ts_event": 1_717_171_717_000_000_000}
    run_peer("put", "--dsn", app_dsn, "--namespace", "quotes", "--key", "BTCUSDT",
             "--value", json.dumps(quote))
    run_peer("put", "--dsn", app_dsn, "--namespace", "quotes", "--key", "ETHUSDT",
             "--value", json.dumps({"bid": "3500"}), "--ttl-ms", "60000")

    report = run_peer("get", "--dsn", app_dsn, "--namespace", "quotes", "--key", "BTCUSDT")

    assert report["value"] == quote
    assert report["all"] == {"BTCUSDT": quote, "ETHUSDT": {"bid": "3500"}}
