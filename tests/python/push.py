"""Third-party clients against the conformance server's push methods: aiohttp-json-rpc's own
`JsonRpcClient` (topics under that library's method names) and Python's `websockets` (groups,
pushes to one connection, ordered fan-out, a stalled reader).

    python push.py 127.0.0.1:PORT

Prints one line per failed check and closes with `python: N passed, M failed`; exits 1 on any
failure.
"""

import asyncio
import json
import sys

from aiohttp_json_rpc import JsonRpcClient
from aiohttp_json_rpc.exceptions import RpcError
from websockets.asyncio.client import connect

from checks import TIMEOUT, check, failed, finish, rpc

async def call(ws, method, params=None, id=1):
    """Sends a call and returns its answer, skipping notifications."""
    await ws.send(rpc(method, params, id))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message.get("id") == id and "method" not in message:
            return message


async def aiohttp_client(addr):
    client = JsonRpcClient()
    await client.connect_url(f"ws://{addr}/")
    return client


async def with_aiohttp_json_rpc(addr):
    client = await aiohttp_client(addr)
    news = asyncio.Queue()

    async def on_news(message):
        await news.put(message["params"])

    check("aiohttp get_topics", await client.get_topics(), ["news", "status", "ticks"])
    check("aiohttp subscribe", await client.subscribe("news", on_news), ["news"])
    check("aiohttp get_subscriptions", await client.get_subscriptions(), ["news"])
    check("aiohttp publish reached", await client.call("publish", ["news", {"n": 1}]), 1)
    check("aiohttp notification", await asyncio.wait_for(news.get(), TIMEOUT), {"n": 1})
    check("aiohttp publish scalar", await client.call("publish", ["news", "12:00"]), 1)
    check("aiohttp scalar data", await asyncio.wait_for(news.get(), TIMEOUT), "12:00")

    check("aiohttp retain", await client.call("publish", ["status", "green", True]), 0)
    late = await aiohttp_client(addr)
    status = asyncio.Queue()

    async def on_status(message):
        await status.put(message["params"])

    check("aiohttp late subscribe", await late.subscribe("status", on_status), ["status"])
    check("aiohttp retained value", await asyncio.wait_for(status.get(), TIMEOUT), "green")
    await late.disconnect()

    try:
        await client.subscribe("nope", on_news)
        check("aiohttp unknown topic refused", "subscribed", "an error")
    except RpcError as err:
        check("aiohttp unknown topic refused", err.error_code, -32602)
    check("aiohttp unsubscribe", await client.unsubscribe("news"), [])
    check("aiohttp publish after unsubscribe", await client.call("publish", ["news", {"n": 2}]), 0)
    await client.disconnect()


async def groups(addr):
    async with connect(f"ws://{addr}/") as ann, connect(f"ws://{addr}/") as bob:
        check("join", (await call(ann, "join", ["room"]))["result"], True)
        check("join again", (await call(ann, "join", ["room"]))["result"], False)
        check("bob joins", (await call(bob, "join", ["room"]))["result"], True)
        answer = await call(ann, "notify_group", ["room", "said", ["hi"]], id=2)
        check("notify_group reached", answer["result"], 2)
        said = json.loads(await asyncio.wait_for(bob.recv(), TIMEOUT))
        check("group notification", said, {"jsonrpc": "2.0", "method": "said", "params": ["hi"]})
        check("leave", (await call(bob, "leave", ["room"], id=3))["result"], True)
        check("after leave", (await call(ann, "notify_group", ["room", "said", ["x"]], id=4))["result"], 1)
        check("bob rejoins", (await call(bob, "join", ["room"], id=5))["result"], True)
        # ann's own copy of "said", sent to her as a member, is skipped by `call`.
        await bob.close()
        reached = None
        for attempt in range(100):
            reached = (await call(ann, "notify_group", ["room", "said", ["y"]], id=10 + attempt))["result"]
            if reached == 1:
                break
            await asyncio.sleep(0.05)
        check("a closed connection leaves its groups", reached, 1)

        await ann.send(rpc("notify_me", ["direct", {"to": "ann"}], id=99))
        first = json.loads(await asyncio.wait_for(ann.recv(), TIMEOUT))
        second = json.loads(await asyncio.wait_for(ann.recv(), TIMEOUT))
        check("notify_me before its answer", [first, second], [
            {"jsonrpc": "2.0", "method": "direct", "params": {"to": "ann"}},
            {"jsonrpc": "2.0", "result": None, "id": 99},
        ])


async def read_ticks(ws, count):
    for seq in range(count):
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message.get("method") != "ticks" or message["params"]["seq"] != seq:
            return f"tick {seq}: {str(message)[:80]}"
    return "complete"


async def fan_out(addr):
    subscribers = []
    for _ in range(10):
        ws = await connect(f"ws://{addr}/", max_queue=None)
        check("subscribe ticks", (await call(ws, "rpc.subscribe", ["ticks"]))["result"], ["ticks"])
        subscribers.append(ws)
    async with connect(f"ws://{addr}/") as publisher:
        readers = [asyncio.create_task(read_ticks(ws, 2000)) for ws in subscribers]
        check("broadcast_ticks receivers", (await call(publisher, "broadcast_ticks", [2000, 16]))["result"], 10)
        check("10 x 2000 in order", await asyncio.gather(*readers), ["complete"] * 10)
    for ws in subscribers:
        await ws.close()


async def stalled_reader(addr):
    # websockets stops reading the socket once `max_queue` messages wait unread: with nobody
    # reading them, this client stalls as a frozen browser tab would.
    stalled = await connect(f"ws://{addr}/", max_queue=1)
    check("stalled subscribes", (await call(stalled, "rpc.subscribe", ["ticks"]))["result"], ["ticks"])
    async with connect(f"ws://{addr}/", max_queue=None) as live, connect(f"ws://{addr}/") as publisher:
        check("live subscribes", (await call(live, "rpc.subscribe", ["ticks"]))["result"], ["ticks"])
        receivers = []
        for burst in range(200):
            reader = asyncio.create_task(read_ticks(live, 64))
            answer = await call(publisher, "broadcast_ticks", [64, 8192], id=burst)
            receivers.append(answer["result"])
            check("the live reader gets every burst", await reader, "complete")
            if answer["result"] == 1:
                break
        check("the stalled reader is cut off", receivers[-1], 1)
    await stalled.close()


async def main_async(addr):
    for name, run in [("aiohttp-json-rpc", with_aiohttp_json_rpc), ("groups", groups),
                      ("fan-out", fan_out), ("stalled", stalled_reader)]:
        try:
            await asyncio.wait_for(run(addr), 60)
        except Exception as err:  # a failure ends that part's checks, not the others'
            failed(name, err)


def main():
    asyncio.run(main_async(sys.argv[1]))
    finish()


if __name__ == "__main__":
    main()
