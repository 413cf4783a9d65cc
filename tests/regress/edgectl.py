#!/usr/bin/python3
"""edgectl.py: a scripted controller for edge mode's wire tests.

Listens on 127.0.0.1:PORT for the agent's WebSocket at /api/portwing/ws
(and /api/v1/portwing/ws), checks the hello as the controller does
(edge-protocol.md 6.7: fields, key, timestamp window, nonce, signature),
then behaves as --mode says.  Every connection, hello, frame and close
is appended to --log as one JSON object per line, for the test to read.

Modes (one per connection in --mode, comma-separated; the last repeats):
  welcome      verify, send the welcome, answer pings, keep the session
  reject:CODE  answer the hello with an error frame of that code and close
               1008 with the code as the reason (1011 for internal-error)
  silent       accept the upgrade and never answer
  http404      refuse the upgrade with 404
  drop:SECS    welcome, then close 1001 after SECS seconds
  mute         welcome, then never send again (no pong either)
  badutf8      welcome, then a text frame that is not UTF-8
  big          welcome, then a message of 16 MiB + 1 byte
Options: --tls CERT KEY  serve wss://; --ping SECS  send a ping every SECS
  seconds after the welcome;
  --requests FILE  send these messages after the first dd:container_sync
  (a JSON list: request data objects, whole {"type","data"} messages, or
  {"sleep": SECS}); their answers are logged as frames; --stall SECS then
  stop reading for that long.
"""
import argparse
import asyncio
import base64
import hashlib
import http
import json
import re
import ssl
import sys
import time

import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--keys", required=True, help="authorized_keys of agents")
ap.add_argument("--log", required=True)
ap.add_argument("--mode", default="welcome")
ap.add_argument("--ping", type=float, default=0)
ap.add_argument("--poll", type=int, default=300)
ap.add_argument("--requests", help="a JSON list of request data objects, "
                "sent once the first dd:container_sync has arrived")
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                help="serve wss:// with this certificate and key")
ap.add_argument("--stall", type=float, default=0,
                help="after sending the requests, stop reading for SECS")
args = ap.parse_args()

KEYS = {}
for line in open(args.keys):
    f = line.split()
    if len(f) >= 2 and f[0] == "ed25519":
        raw = base64.b64decode(f[1])
        KEYS[hashlib.sha256(raw).hexdigest()[:16]] = raw
MODES = args.mode.split(",")
conn_no = 0
NONCES = set()


def log(**kw):
    kw["t"] = round(time.time(), 3)
    with open(args.log, "a") as fp:
        fp.write(json.dumps(kw) + "\n")


def check_hello(msg):
    """The controller's checks, in its order; None or the failure code."""
    try:
        m = json.loads(msg)
    except ValueError:
        return "parse-error"
    if not isinstance(m, dict) or m.get("type") != "hello":
        return "expected-hello"
    d = m.get("data")
    if not isinstance(d, dict):
        return "parse-error"
    aid = d.get("agentId")
    if not isinstance(aid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", aid):
        return "parse-error"
    name = d.get("agentName")
    if name is not None and (not isinstance(name, str) or len(name) > 256):
        return "invalid-agent-name"
    if d.get("protocol") != "portwing/1.0":
        return "protocol-mismatch"
    kid, ts, nonce, sig = (d.get(k) for k in ("pubKeyId", "timestamp", "nonce", "signature"))
    if not (isinstance(kid, str) and isinstance(ts, (int, float)) and not isinstance(ts, bool)
            and isinstance(nonce, str) and isinstance(sig, str)):
        return "no-auth"
    if len(sig) > 200:
        return "bad-signature"
    if not re.fullmatch(r"[0-9a-f]{16}", kid) or kid not in KEYS:
        return "unknown-key"
    if abs(int(time.time()) - ts) > 60 and not args.mode.startswith("anytime"):
        return "timestamp-skew"
    if not re.fullmatch(r"[0-9a-f]{32}", nonce):
        return "bad-nonce"
    if nonce in NONCES:
        return "replay"
    canon = "GET\n/api/portwing/ws\n%s\n%s\n%s" % (
        hashlib.sha256(b"").hexdigest(), str(ts), nonce)
    try:
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        Ed25519PublicKey.from_public_bytes(KEYS[kid]).verify(raw, canon.encode())
    except Exception:
        return "bad-signature"
    NONCES.add(nonce)
    return None


async def pinger(ws):
    while True:
        await asyncio.sleep(args.ping)
        await ws.send(json.dumps({"type": "ping", "data": {"timestamp": int(time.time() * 1000)}}))
        log(event="sent", type="ping")


async def handler(ws, path):
    global conn_no
    mode = MODES[min(conn_no, len(MODES) - 1)]
    conn_no += 1
    log(event="connect", n=conn_no, path=path, mode=mode,
        headers={k.lower(): v for k, v in ws.request_headers.raw_items()})
    tasks = []
    sent_requests = []
    try:
        first = await ws.recv()
        log(event="hello", raw=first if isinstance(first, str) else first.decode("utf-8", "replace"),
            binary=not isinstance(first, str))
        if mode == "silent":
            await asyncio.sleep(3600)
            return
        code = check_hello(first)
        if mode.startswith("reject:"):
            code = mode.split(":", 1)[1]
        if code is not None:
            log(event="rejected", code=code)
            await ws.send(json.dumps({"type": "error", "data": {"message": "rejected: " + code, "code": code}}))
            await ws.close(1011 if code == "internal-error" else 1008, code)
            return
        await ws.send(json.dumps({"type": "welcome", "data": {"pollInterval": args.poll, "config": {
            "drydockVersion": "1.7.0", "supportedProtocols": "portwing/1.0",
            "serverCompatLevel": "1.4.0"}}}))
        log(event="welcomed")
        if args.ping > 0:
            tasks.append(asyncio.ensure_future(pinger(ws)))
        if mode == "badutf8":
            await ws.write_frame(True, 0x1, b'{"type":"x","data":{"a":"\xff\xfe"}}')
            log(event="sent", type="badutf8")
        if mode == "big":
            await ws.send('{"type":"x","data":{"a":"' + "a" * (16 * 1024 * 1024 - 25) + '"}}')
            log(event="sent", type="big")
        if mode.startswith("drop:"):
            async def drop():
                await asyncio.sleep(float(mode.split(":", 1)[1]))
                await ws.close(1001, "going away")
            tasks.append(asyncio.ensure_future(drop()))
        async for msg in ws:
            text = msg if isinstance(msg, str) else msg.decode("utf-8", "replace")
            try:
                m = json.loads(text)
            except ValueError:
                log(event="frame", bad=text[:200])
                continue
            log(event="frame", type=m.get("type"), data=m.get("data"), binary=not isinstance(msg, str))
            if m.get("type") == "dd:container_sync" and args.requests and not sent_requests:
                sent_requests.append(1)
                for r in json.load(open(args.requests)):
                    if "sleep" in r:
                        await asyncio.sleep(r["sleep"])
                        continue
                    msg = r if "type" in r and "data" in r else {"type": "request", "data": r}
                    await ws.send(json.dumps(msg))
                    log(event="sent", type=msg["type"], id=msg["data"].get("requestId"))
                if args.stall:
                    log(event="stalling")
                    await asyncio.sleep(args.stall)
                    log(event="reading")
            if m.get("type") == "ping" and mode != "mute":
                await ws.send(json.dumps({"type": "pong", "data": m.get("data")}))
    except websockets.ConnectionClosed:
        pass
    finally:
        for t in tasks:
            t.cancel()
        log(event="closed", n=conn_no, code=ws.close_code, reason=ws.close_reason)


async def process_request(path, headers):
    mode = MODES[min(conn_no, len(MODES) - 1)]
    if mode == "http404":
        log(event="refused404", path=path)
        return (http.HTTPStatus.NOT_FOUND, [], b"not found\n")
    if not re.fullmatch(r"/api(/v1)?/portwing/ws", path.split("?")[0]):
        log(event="badpath", path=path)
        return (http.HTTPStatus.NOT_FOUND, [], b"no such route\n")
    return None


async def main():
    ssl_ctx = None
    if args.tls:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(args.tls[0], args.tls[1])
    async with websockets.serve(handler, args.host, args.port, process_request=process_request,
                                max_size=16 * 1024 * 1024, compression=None, ping_interval=None,
                                ssl=ssl_ctx):
        log(event="listening", port=args.port)
        await asyncio.Future()

asyncio.run(main())
