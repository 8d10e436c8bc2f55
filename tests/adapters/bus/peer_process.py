"""A Lockgate process in miniature for the cross-process tests: one bus or hot-state action.

Run as ``python -m tests.adapters.bus.peer_process <action> --dsn DSN ...``; the last line on
stdout is a JSON report. ``consume`` first prints ``{"ready": true}`` once its group exists.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from decimal import Decimal
from typing import Any

from adapters.bus.postgres import PostgresBus, PostgresHotState
from domain.messaging import Envelope


def say(report: dict[str, Any]) -> None:
    """Write one JSON line to stdout at once, so the parent can read it while we run."""
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


async def produce(args: argparse.Namespace) -> None:
    """Append ``--count`` envelopes; report their envelope and message ids."""
    bus = await PostgresBus.connect(args.dsn)
    try:
        sent = []
        for seq in range(args.count):
            envelope = Envelope(
                id=uuid.uuid4().hex, type="test.Ticked", schema_version=1,
                ts_event=time.time_ns(), trace={"traceparent": f"00-{uuid.uuid4().hex}-01"},
                payload={"seq": seq, "price": str(Decimal("65000.10") + seq)})
            message_id = await bus.append(args.stream, envelope)
            sent.append({"id": envelope.id, "message_id": message_id})
        say({"sent": sent})
    finally:
        await bus.close()


async def consume(args: argparse.Namespace) -> None:
    """Block on the group until ``--expect`` messages came (or the time is up); ack them."""
    bus = await PostgresBus.connect(args.dsn)
    try:
        await bus.ensure_group(args.stream, args.group)
        say({"ready": True})
        received: list[dict[str, Any]] = []
        deadline = time.monotonic() + args.timeout_ms / 1000
        while len(received) < args.expect and (left := deadline - time.monotonic()) > 0:
            batch = await bus.consume(args.stream, args.group, "peer", count=7,
                                      block_ms=int(left * 1000) + 1)
            received += [{"id": d.envelope.id, "message_id": d.message_id,
                          "seq": d.envelope.payload["seq"], "price": d.envelope.payload["price"],
                          "delivery_count": d.delivery_count} for d in batch]
        acked = await bus.ack(args.stream, args.group, [r["message_id"] for r in received])
        say({"received": received, "acked": acked,
             "pending_after": await bus.pending(args.stream, args.group)})
    finally:
        await bus.close()


async def put(args: argparse.Namespace) -> None:
    """Store ``--value`` (JSON) under the namespace and key."""
    state = await PostgresHotState.connect(args.dsn)
    try:
        await state.put(args.namespace, args.key, json.loads(args.value), ttl_ms=args.ttl_ms)
        say({"ok": True})
    finally:
        await state.close()


async def get(args: argparse.Namespace) -> None:
    """Report the value of the key and everything live in the namespace."""
    state = await PostgresHotState.connect(args.dsn)
    try:
        say({"value": await state.get(args.namespace, args.key),
             "all": await state.get_all(args.namespace)})
    finally:
        await state.close()


def main(argv: list[str]) -> None:
    """Parse the action and its options; run it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["produce", "consume", "put", "get"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--stream", default="ticks")
    parser.add_argument("--group", default="g")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--expect", type=int, default=1)
    parser.add_argument("--timeout-ms", type=int, default=15_000)
    parser.add_argument("--namespace", default="quotes")
    parser.add_argument("--key", default="BTCUSDT")
    parser.add_argument("--value", default="{}")
    parser.add_argument("--ttl-ms", type=int, default=None)
    args = parser.parse_args(argv)
    actions = {"produce": produce, "consume": consume, "put": put, "get": get}
    asyncio.run(actions[args.action](args))


if __name__ == "__main__":
    main(sys.argv[1:])
