#!/usr/bin/python3
"""edgebench.py: edge mode's bench (tests/bench/edge.sh).

  edgebench.py tunnel PORT OUT SECS CONC
      Be the controller on 127.0.0.1:PORT (the hello is not verified:
      the agent is ours), wait for the agent's inventory, then
      for GET /_ping and GET /containers/json: SECS seconds with one
      request at a time (latency), then SECS seconds with CONC in flight
      (throughput).  Results as JSON in OUT.
  edgebench.py inbound PORT TOKEN OUT SECS CONC
      The same calls, the same way, on the agent's own port (standard
      mode), over keep-alive HTTP/1.1 connections.
  edgebench.py soak PORT OUT SECS CID
      Be the controller and keep a mix going for SECS seconds: 8
      requests in flight (/_ping, /containers/json, an inspect, /version,
      one-shot logs), a live log stream of container CID opened and
      cancelled every 10 s, an /events stream every 30 s.  Counts in OUT.
"""
import asyncio
import json
import sys
import time

import websockets

PATHS = ["/_ping", "/containers/json"]


def stats(lat, secs):
    lat = sorted(lat)
    n = len(lat)
    if n == 0:
        return {"n": 0}
    return {"n": n, "rps": round(n / secs, 1),
            "p50_ms": round(lat[n // 2] * 1000, 3),
            "p99_ms": round(lat[min(n - 1, int(n * 0.99))] * 1000, 3)}


class Tunnel:
    def __init__(self, ws):
        self.ws = ws
        self.waiting = {}
        self.n = 0
        self.synced = asyncio.Event()
        self.counts = {}

    async def reader(self):
        async for msg in self.ws:
            m = json.loads(msg)
            t = m.get("type")
            d = m.get("data") or {}
            self.counts[t] = self.counts.get(t, 0) + 1
            if t == "dd:container_sync":
                self.synced.set()
            elif t == "ping":
                await self.ws.send(json.dumps({"type": "pong", "data": d}))
            rid = d.get("requestId")
            if rid in self.waiting and t in ("response", "error", "stream_end",
                                               "dd:container_log_response",
                                               "dd:container_log_end",
                                               "dd:container_log_error"):
                if t == "response" and d.get("isStream"):
                    continue
                self.waiting.pop(rid).set_result(m)

    async def call(self, path, method="GET", kind="request", extra=None):
        self.n += 1
        rid = "r%d" % self.n
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        data = {"requestId": rid, "method": method, "path": path}
        if extra:
            data = dict(extra, requestId=rid)
        await self.ws.send(json.dumps({"type": kind, "data": data}))
        return await fut


async def measure(call, secs, conc):
    lat = []
    end = time.monotonic() + secs

    async def one():
        while time.monotonic() < end:
            t0 = time.monotonic()
            await call()
            lat.append(time.monotonic() - t0)
    await asyncio.gather(*[one() for _ in range(conc)])
    return stats(lat, secs)


def serve(port, body):
    async def handler(ws, path):
        tn = Tunnel(ws)
        await ws.recv()         # the hello: ours, not checked here
        await ws.send(json.dumps({"type": "welcome", "data": {"pollInterval": 300, "config": {
            "serverCompatLevel": "1.4.0"}}}))
        rd = asyncio.ensure_future(tn.reader())
        await tn.synced.wait()
        try:
            await body(tn)
        finally:
            rd.cancel()
            stop.set_result(None)

    async def main():
        global stop
        stop = asyncio.get_running_loop().create_future()
        async with websockets.serve(handler, "127.0.0.1", port, max_size=16 * 1024 * 1024,
                                    compression=None, ping_interval=None):
            await stop
    asyncio.run(main())


def tunnel(port, out, secs, conc):
    async def body(tn):
        res = {}
        for p in PATHS:
            await measure(lambda: tn.call(p), 1, 1)          # warm-up
            res[p] = {"c1": await measure(lambda: tn.call(p), secs, 1),
                      "cN": await measure(lambda: tn.call(p), secs, conc)}
        json.dump({"mode": "tunnel", "conc": conc, "results": res}, open(out, "w"))
    serve(port, body)


def inbound(port, token, out, secs, conc):
    async def conn():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return r, w

    async def get(rw, path):
        r, w = rw
        w.write(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                 % (path, token)).encode())
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        n = 0
        chunked = False
        for line in head.split(b"\r\n"):
            k, _, v = line.partition(b":")
            if k.lower() == b"content-length":
                n = int(v)
            if k.lower() == b"transfer-encoding" and b"chunked" in v.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await r.readuntil(b"\r\n")).strip(), 16)
                await r.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await r.readexactly(n)

    async def main():
        res = {}
        for p in PATHS:
            c1 = await conn()
            await measure(lambda: get(c1, p), 1, 1)
            s1 = await measure(lambda: get(c1, p), secs, 1)
            conns = [await conn() for _ in range(conc)]
            lat = []
            end = time.monotonic() + secs

            async def one(c):
                while time.monotonic() < end:
                    t0 = time.monotonic()
                    await get(c, p)
                    lat.append(time.monotonic() - t0)
            await asyncio.gather(*[one(c) for c in conns])
            res[p] = {"c1": s1, "cN": stats(lat, secs)}
            for _, w in conns + [c1]:
                w.close()
        json.dump({"mode": "inbound", "conc": conc, "results": res}, open(out, "w"))
    asyncio.run(main())


def soak(port, out, secs, cid):
    async def body(tn):
        end = time.monotonic() + secs
        done = {"calls": 0, "streams": 0}
        mix = ["/_ping", "/containers/json", "/containers/%s/json" % cid, "/version"]

        async def caller(i):
            k = i
            while time.monotonic() < end:
                k += 1
                if k % 5 == 4:
                    await tn.call(None, kind="dd:container_log_request",
                                  extra={"containerId": cid, "tail": 50})
                else:
                    await tn.call(mix[k % len(mix)])
                done["calls"] += 1

        async def streams():
            n = 0
            while time.monotonic() < end:
                n += 1
                rid = "live%d" % n
                await tn.ws.send(json.dumps({"type": "dd:container_log_request", "data": {
                    "requestId": rid, "containerId": cid, "since": 0, "follow": True,
                    "timestamps": True, "stream": True, "tail": 10}}))
                await asyncio.sleep(5)
                await tn.ws.send(json.dumps({"type": "dd:container_log_cancel", "data": {
                    "requestId": rid, "containerId": cid}}))
                done["streams"] += 1
                if n % 3 == 0:
                    await tn.call("/events?since=%d&until=%d" % (time.time() - 5, time.time()))
                await asyncio.sleep(5)
        await asyncio.gather(*[caller(i) for i in range(8)], streams())
        json.dump({"mode": "soak", "secs": secs, "done": done, "frames": tn.counts},
                  open(out, "w"))
    serve(port, body)


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "tunnel":
        tunnel(int(a[2]), a[3], float(a[4]), int(a[5]))
    elif a[1] == "inbound":
        inbound(int(a[2]), a[3], a[4], float(a[5]), int(a[6]))
    elif a[1] == "soak":
        soak(int(a[2]), a[3], float(a[4]), a[5])
