"""connflood.py: connection floods for t-conn-limit.sh.

  connflood.py flood PORT SOURCE[,SOURCE...] N SECONDS
      Hold N idle connections from SOURCE (never sending a byte; several
      sources take turns) and
      reopen each one the agent closes, for SECONDS.  Prints how many
      connects were made and how many were closed by the agent.

  connflood.py ping PORT TOKEN SECONDS [P99-LIMIT-MS]
      From 127.0.0.1, a new connection per request: an authenticated
      GET /_ping, then GET /health, in a loop for SECONDS.  Prints TAP
      lines for the p99 latency (under 100 ms unless told) and for every
      answer being right."""
import resource
import selectors
import socket
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def flood(port, source, n, seconds):
    n = min(n, raise_nofile() - 64)
    sel = selectors.DefaultSelector()
    made = closed = 0

    sources = source.split(",")

    def opener():
        nonlocal made
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((sources[made % len(sources)], 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        made += 1
        sel.register(s, selectors.EVENT_READ)

    for _ in range(n):
        opener()
    end = time.time() + seconds
    while time.time() < end:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                d = s.recv(1024)
            except OSError:
                d = b""
            if d:
                continue
            sel.unregister(s)
            s.close()
            closed += 1
            opener()
    print("# flood from %s: %d connects, %d closed by the agent" %
          (source, made, closed))
    sys.stdout.flush()


def one(port, req, timeout=2.0):
    t = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                     source_address=("127.0.0.1", 0))
        s.sendall(req)
        data = b""
        while b"\r\n\r\n" not in data:
            c = s.recv(4096)
            if not c:
                break
            data += c
        s.close()
        status = data.split(b"\r\n")[0]
    except OSError as e:
        status = str(e).encode()
    return time.time() - t, status


def ping(port, token, seconds, limit_ms=100.0):
    ping_req = ("GET /_ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Connection: close\r\n\r\n" % token).encode()
    health_req = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    lat, bad, health = [], [], []
    end = time.time() + seconds
    while time.time() < end:
        dt, st = one(port, ping_req)
        lat.append(dt)
        if st != b"HTTP/1.1 200 OK":
            bad.append(st)
        dt, st = one(port, health_req)
        health.append(st == b"HTTP/1.1 200 OK")
        time.sleep(0.01)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    p50 = lat[len(lat) // 2] * 1000
    print("# %d pings: p50 %.1f ms, p99 %.1f ms, max %.1f ms" %
          (len(lat), p50, p99, lat[-1] * 1000))
    print("%s - authenticated /_ping p99 under %g ms during the flood "
          "(%.1f ms over %d)" % ("ok" if p99 < limit_ms else "not ok",
                                 limit_ms, p99, len(lat)))
    print("%s - every /_ping answered 200 (%d bad%s)" %
          ("ok" if not bad else "not ok", len(bad),
           ": %r" % bad[:3] if bad else ""))
    print("%s - /health answered during the flood (%d of %d)" %
          ("ok" if all(health) and health else "not ok", sum(health),
           len(health)))


if __name__ == "__main__":
    if sys.argv[1] == "flood":
        flood(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
              float(sys.argv[5]))
    else:
        ping(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]),
             *map(float, sys.argv[5:6]))
