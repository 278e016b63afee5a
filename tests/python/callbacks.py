"""Third-party clients that serve methods to our server, which calls them back through the
conformance server's `callback(method, params)`: aiohttp-json-rpc's `JsonRpcClient` (methods
added with `add_methods`) and wsjsonrpc's Twisted client (methods registered with
`registerMethod`). A method the client lacks comes back as the client's own -32601.

    python callbacks.py 127.0.0.1:PORT

Prints one line per failed check and closes with `python: N passed, M failed`; exits 1 on any
failure.
"""

import asyncio
import sys

from aiohttp_json_rpc import JsonRpcClient
from aiohttp_json_rpc.exceptions import RpcError
from twisted.internet import defer, task
from wsjsonrpc.exception import JsonRpcException
from wsjsonrpc.factory import JsonRpcWebSocketClientFactory

from checks import TIMEOUT, check, failed, finish


async def with_aiohttp_json_rpc(addr):
    client = JsonRpcClient()

    async def double(params):
        return [value * 2 for value in params]

    async def greet(params):
        return f"hello, {params['name']}"

    client.add_methods(("", double), ("", greet))
    await client.connect_url(f"ws://{addr}/")
    check(
        "aiohttp answers a positional callback",
        await client.call("callback", ["double", [1, 2]], timeout=TIMEOUT),
        [2, 4],
    )
    check(
        "aiohttp answers a named callback",
        await client.call("callback", ["greet", {"name": "ann"}], timeout=TIMEOUT),
        "hello, ann",
    )
    try:
        await client.call("callback", ["missing", []], timeout=TIMEOUT)
        check("aiohttp missing method", "an answer", "an error")
    except RpcError as err:
        check("aiohttp missing method is its -32601", err.error_code, -32601)
    await client.disconnect()


@defer.inlineCallbacks
def with_wsjsonrpc(reactor, addr):
    host, port = addr.rsplit(":", 1)
    factory = JsonRpcWebSocketClientFactory(f"ws://{addr}/")

    def double(protocol, *values):
        return [value * 2 for value in values]

    factory.registerMethod("double", double)
    reactor.connectTCP(host, int(port), factory, timeout=TIMEOUT)
    protocol = yield factory.getProtocol()
    answer = yield protocol.request("callback", ["double", [3, 4]], timeout=TIMEOUT)
    check("wsjsonrpc answers a callback", answer, [6, 8])
    try:
        yield protocol.request("callback", ["missing", []], timeout=TIMEOUT)
        check("wsjsonrpc missing method", "an answer", "an error")
    except JsonRpcException as err:
        check("wsjsonrpc missing method is its -32601", err.errno, -32601)
    protocol.sendClose()
    # The factory polls its requests for timeouts; stop it so the reactor can end.
    factory.timeout_loop.stop()


def main(addr):
    try:
        asyncio.run(asyncio.wait_for(with_aiohttp_json_rpc(addr), 6 * TIMEOUT))
    except Exception as err:  # noqa: BLE001 - every failure is reported the same way
        failed("aiohttp-json-rpc", err)

    def twisted_part(reactor):
        done = with_wsjsonrpc(reactor, addr)
        done.addErrback(lambda failure: failed("wsjsonrpc", failure.value))
        done.addTimeout(6 * TIMEOUT, reactor)
        return done

    try:
        task.react(twisted_part)
    except SystemExit:
        pass
    finish()


if __name__ == "__main__":
    main(sys.argv[1])
