"""What both Python clients share: counting checks, encoding calls, and the closing line CI
adds up (`python: N passed, M failed`)."""

import json
import sys

TIMEOUT = 10
results = {"passed": 0, "failed": 0}


def check(name, got, want):
    if got == want:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL {name}: got {got!r}, want {want!r}")


def failed(name, err):
    """A part that raised: its remaining checks are lost, so it counts as one failure."""
    results["failed"] += 1
    print(f"FAIL {name}: {type(err).__name__}: {err}")


def rpc(method, params=None, id=1):
    request = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        request["params"] = params
    return json.dumps(request)


def finish():
    print(f"python: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)
