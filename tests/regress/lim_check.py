#!/usr/bin/python3
"""lim_check.py: the failed-attempt limiter under a flood of addresses,
and signed requests beside it (t-auth-limiter.sh).  The agent trusts
127.0.0.1 as a proxy (TRUSTED_PROXIES), so X-Forwarded-For picks the
client address and one connection can speak for thousands of them.

    lim_check.py flood PORT FIRST N
        one bad token from each of N addresses 10.x.y.z (numbered from
        FIRST), on keep-alive connections; prints the statuses seen
    lim_check.py req PORT ADDR KIND [ARG]
        one request as ADDR; prints "STATUS REASON":
        KIND token TOKEN | badtoken | signed KEYPEM | badsig KEYPEM OTHERPEM
        (the key ID of KEYPEM, signed by OTHERPEM) | unknownkey KEYPEM
        | sigheaders TOKEN KEYPEM (signature headers and that token)
        | longts KEYPEM (a 40-digit timestamp)

Standard library and pwsign.py (python3-cryptography)."""
import http.client
import sys
import threading

import pwsign


def addr(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def flood(port, first, n, threads=4):
    seen = {}
    lock = threading.Lock()

    def run(lo, hi):
        mine = {}
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(lo, hi):
            for attempt in range(3):
                try:
                    c.request("GET", "/_ping", headers={
                        "Authorization": "Bearer flood-bad-token",
                        "X-Forwarded-For": addr(i)})
                    r = c.getresponse()
                    r.read()
                    mine[r.status] = mine.get(r.status, 0) + 1
                    if r.getheader("Connection", "").lower() == "close":
                        c.close()
                        c = http.client.HTTPConnection("127.0.0.1", port,
                                                       timeout=30)
                    break
                except (http.client.HTTPException, OSError):
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", port,
                                                   timeout=30)
        c.close()
        with lock:
            for k, v in mine.items():
                seen[k] = seen.get(k, 0) + v

    step = (n + threads - 1) // threads
    ts = [threading.Thread(target=run, args=(first + k * step,
                                             min(first + n,
                                                 first + (k + 1) * step)))
          for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(" ".join("%d:%d" % kv for kv in sorted(seen.items())))


def req(port, src, kind, args):
    h = {"X-Forwarded-For": src}
    if kind == "token":
        h["Authorization"] = "Bearer " + args[0]
    elif kind == "badtoken":
        h["Authorization"] = "Bearer not-the-token"
    elif kind == "signed":
        h.update(pwsign.headers(pwsign.load(args[0]), "GET", "/_ping"))
    elif kind == "badsig":
        k = pwsign.load(args[0])
        h.update(pwsign.headers(pwsign.load(args[1]), "GET", "/_ping"))
        h["X-Portwing-Key-ID"] = pwsign.key_id(k)
    elif kind == "unknownkey":
        h.update(pwsign.headers(pwsign.load(args[0]), "GET", "/_ping"))
        h["X-Portwing-Key-ID"] = "00000000deadbeef"
    elif kind == "longts":
        h.update(pwsign.headers(pwsign.load(args[0]), "GET", "/_ping",
                                ts="1" * 40))
    elif kind == "sigheaders":
        h.update(pwsign.headers(pwsign.load(args[1]), "GET", "/_ping"))
        h["Authorization"] = "Bearer " + args[0]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/_ping", headers=h)
    r = c.getresponse()
    r.read()
    c.close()
    print("%d %s" % (r.status, r.getheader("X-Portwing-Reason") or "-"))


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "flood":
        flood(port, int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "req":
        req(port, sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
