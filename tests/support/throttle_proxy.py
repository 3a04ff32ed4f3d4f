"""A loopback proxy in front of kinesis-mock that throttles PutRecords entries.

kinesis-mock never throttles, so the writer's resend path needs this: a
fraction of each PutRecords call's entries is answered with
ProvisionedThroughputExceededException (not forwarded), the rest are forwarded
and the two answers merged in entry order. Every PutRecords call's entry count
and payload bytes are appended to the log file, one JSON line each, so tests
can check the 500-record / 5 MiB limits. An entry whose data holds the bytes
`always-throttled` (a test's marker in its request id, which the prediction
repeats) is throttled at every call, so it is never written. One whose data
holds `internal-failure` is answered InternalFailure at its first
INTERNAL_FAILURES calls (counted by partition key), then forwarded.

With NO_ITERATOR_SHARD, GetShardIterator on that shard is answered without a
ShardIterator, as Kinesis may answer it for a closed shard asked for a
position past its end: every time, or only the first NONE_TIMES times, and
then FAIL_TIMES times with ProvisionedThroughputExceededException (Kinesis
allows 5 such calls a second a shard) before the calls are forwarded. Each
of those answers is logged as {"get_shard_iterator": "none" | "failed"}.

With GONE_SHARD in the environment, that shard passes retention at the
first GetShardIterator on it: that call and every later one on it is answered
ResourceNotFoundException (logged as {"get_shard_iterator": "not_found"}),
and ListShards no longer lists it.

usage: throttle_proxy.py LISTEN_PORT UPSTREAM_URL FRACTION LOG_FILE
                         [NO_ITERATOR_SHARD [NONE_TIMES [FAIL_TIMES]]]
"""
import base64
import json
import os
import random
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM, FRACTION, LOG = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
NO_ITERATOR_SHARD = sys.argv[5] if len(sys.argv) > 5 else None
# What GetShardIterator on NO_ITERATOR_SHARD gets, call by call.
ITERATOR_ANSWERS = (
    ["none"] * int(sys.argv[6]) + ["failed"] * int(sys.argv[7] if len(sys.argv) > 7 else 0)
    if len(sys.argv) > 6
    else None
)
GONE_SHARD = os.environ.get("GONE_SHARD")
lock = threading.Lock()
rng = random.Random(7)
gone = False
INTERNAL_FAILURES = 3
# InternalFailure answers given so far, by partition key.
internal_failures = {}


def refusal(entry):
    """The error code a PutRecords entry is answered with here, or None to forward it."""
    data = base64.b64decode(entry["Data"])
    if b"internal-failure" in data:
        with lock:
            n = internal_failures.get(entry["PartitionKey"], 0)
            internal_failures[entry["PartitionKey"]] = n + 1
        if n < INTERNAL_FAILURES:
            return "InternalFailure"
    if b"always-throttled" in data or rng.random() < FRACTION:
        return "ProvisionedThroughputExceededException"
    return None


def log_answer(answer):
    with open(LOG, "a") as log:
        log.write(json.dumps({"get_shard_iterator": answer}) + "\n")


def iterator_answer():
    """"none", "failed" or None (forward) for the next GetShardIterator on the shard."""
    with lock:
        if ITERATOR_ANSWERS is None:
            answer = "none"
        elif ITERATOR_ANSWERS:
            answer = ITERATOR_ANSWERS.pop(0)
        else:
            return None
        log_answer(answer)
        return answer


def forward(handler, body):
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
    req = urllib.request.Request(UPSTREAM + handler.path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", "application/x-amz-json-1.1"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", "application/x-amz-json-1.1"), e.read()


class Proxy(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(*forward_get(self))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        global gone
        if target.endswith(".GetShardIterator") and GONE_SHARD and json.loads(body).get("ShardId") == GONE_SHARD:
            with lock:
                gone = True
                log_answer("not_found")
            error = {"__type": "ResourceNotFoundException", "message": f"Shard {GONE_SHARD} does not exist (proxy)"}
            return self.reply(400, "application/x-amz-json-1.1", json.dumps(error).encode())
        if target.endswith(".ListShards") and gone:
            status, ctype, out = forward(self, body)
            if status == 200:
                listing = json.loads(out)
                listing["Shards"] = [s for s in listing["Shards"] if s["ShardId"] != GONE_SHARD]
                out = json.dumps(listing).encode()
            return self.reply(status, ctype, out)
        if target.endswith(".GetShardIterator") and json.loads(body).get("ShardId") == NO_ITERATOR_SHARD:
            answer = iterator_answer()
            if answer == "none":
                return self.reply(200, "application/x-amz-json-1.1", b"{}")
            if answer == "failed":
                error = {"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded (proxy)"}
                return self.reply(400, "application/x-amz-json-1.1", json.dumps(error).encode())
        if target.endswith(".PutRecords"):
            req = json.loads(body)
            entries = req["Records"]
            with open(LOG, "a") as log:
                size = sum(len(base64.b64decode(e["Data"])) + len(e["PartitionKey"]) for e in entries)
                log.write(json.dumps({"records": len(entries), "bytes": size}) + "\n")
            refused = [refusal(e) for e in entries]
            keep = [e for e, r in zip(entries, refused) if r is None]
            results = []
            if keep:
                status, ctype, out = forward(self, json.dumps(dict(req, Records=keep)).encode())
                if status != 200:
                    return self.reply(status, ctype, out)
                results = json.loads(out)["Records"]
            it = iter(results)
            merged = [{"ErrorCode": r, "ErrorMessage": f"{r} (proxy)"} if r else next(it) for r in refused]
            failed = sum(1 for r in merged if "ErrorCode" in r)
            return self.reply(200, "application/x-amz-json-1.1",
                              json.dumps({"FailedRecordCount": failed, "Records": merged}).encode())
        self.reply(*forward(self, body))


def forward_get(handler):
    with urllib.request.urlopen(UPSTREAM + handler.path, timeout=30) as r:
        return r.status, r.headers.get("Content-Type", "text/plain"), r.read()


ThreadingHTTPServer(("127.0.0.1", PORT), Proxy).serve_forever()
