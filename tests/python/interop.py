"""A third-party client against the conformance server: Python's `websockets` for WebSocket and
the standard library's `http.client` for HTTP.

    python interop.py 127.0.0.1:PORT

Prints one line per failed check and closes with `python: N passed, M failed`; exits 1 on any
failure.
"""

import http.client
import json
import sys

from websockets.sync.client import connect

from checks import TIMEOUT, check, failed, finish, rpc

def post(host, port, body, content_type="application/json"):
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    headers = {"Content-Type": content_type} if content_type else {}
    conn.request("POST", "/", body, headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data and response.status == 200 else data


def by_id(batch):
    return sorted(batch, key=lambda answer: json.dumps(answer["id"]))


def over_http(host, port):
    check("http positional", post(host, port, rpc("subtract", [42, 23])),
          (200, {"jsonrpc": "2.0", "result": 19, "id": 1}))
    check("http named", post(host, port, rpc("subtract", {"subtrahend": 23, "minuend": 42}))[1]["result"], 19)
    check("http variadic", post(host, port, rpc("sum", [1, 2, 4]))[1]["result"], 7)
    check("http optional", post(host, port, rpc("greet", ["Ann"]))[1]["result"], "Hello, Ann!")
    check("http notification", post(host, port, json.dumps({"jsonrpc": "2.0", "method": "update", "params": [1]})),
          (204, b""))
    status, answer = post(host, port, json.dumps([
        json.loads(rpc("subtract", [42, 23], id="a")),
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        json.loads(rpc("get_data", id="b")),
    ]))
    check("http batch", (status, by_id(answer)), (200, [
        {"jsonrpc": "2.0", "result": 19, "id": "a"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "b"},
    ]))
    check("http error data", post(host, port, rpc("fail_custom"))[1]["error"],
          {"code": -32001, "message": "custom failure", "data": {"reason": "testing"}})
    check("http method not found", post(host, port, rpc("foobar"))[1]["error"]["code"], -32601)
    check("http parse error", post(host, port, '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')[1],
          {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None})
    check("http 1.0 shape", post(host, port, json.dumps({"method": "subtract", "params": [5, 3], "id": 9}))[1],
          {"result": 2, "error": None, "id": 9})
    check("http big id", post(host, port, '{"jsonrpc":"2.0","method":"get_data","id":12345678901234567890}')[1]["id"],
          12345678901234567890)
    check("http only", post(host, port, rpc("http_only"))[1]["result"], "http")
    check("ws only hidden", post(host, port, rpc("ws_only"))[1]["error"]["code"], -32601)
    check("http panic", post(host, port, rpc("panic"))[1]["error"]["code"], -32603)
    check("http media type", post(host, port, rpc("get_data"), content_type="text/plain")[0], 415)


def over_ws(addr):
    with connect(f"ws://{addr}/", open_timeout=TIMEOUT) as ws:
        def call(text):
            ws.send(text)
            return json.loads(ws.recv(timeout=TIMEOUT))

        check("ws positional", call(rpc("subtract", [42, 23])), {"jsonrpc": "2.0", "result": 19, "id": 1})
        check("ws named", call(rpc("subtract", {"minuend": 42, "subtrahend": 23}))["result"], 19)
        check("ws only", call(rpc("ws_only"))["result"], "ws")
        check("http only hidden", call(rpc("http_only"))["error"]["code"], -32601)
        check("ws error", call(rpc("fail_custom"))["error"]["code"], -32001)
        answer = call(json.dumps([json.loads(rpc("sum", [1, 2], id=1)), json.loads(rpc("foo.get", id=2))]))
        check("ws batch", by_id(answer), [
            {"jsonrpc": "2.0", "result": 3, "id": 1},
            {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": 2},
        ])
        # A notification is never answered: the next answer is the call sent after it.
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "update", "params": [1, 2]}))
        check("ws notification", call(rpc("echo", ["after"], id="after"))["id"], "after")
        # Calls run concurrently: a slow one is answered after a quick one sent later.
        ws.send(rpc("sleep", [300], id="slow"))
        ws.send(rpc("sleep", [1], id="quick"))
        first = json.loads(ws.recv(timeout=TIMEOUT))
        second = json.loads(ws.recv(timeout=TIMEOUT))
        check("ws concurrency", [first["id"], second["id"]], ["quick", "slow"])


def main():
    addr = sys.argv[1]
    host, port = addr.rsplit(":", 1)
    for name, run in [("http", lambda: over_http(host, int(port))), ("ws", lambda: over_ws(addr))]:
        try:
            run()
        except Exception as err:  # a transport failure fails the rest of that transport's checks
            failed(name, err)
    finish()


if __name__ == "__main__":
    main()
