"""desync.py: raw-socket probes for answers a worker gives before it has
read a request's body (t-desync.sh).

Each probe sends one request whose body is itself a complete request
(SMUGGLED), reads everything the agent sends until it closes or goes
quiet, and reports the statuses seen.  A worker that keeps the
connection after such an answer without reading the body parses the
body as a second request and answers it too."""
import socket
import ssl
import threading
import time

SMUGGLED = b"GET /health HTTP/1.1\r\nHost: smuggled\r\n\r\n"


def read_until_quiet(s, quiet, res):
    """Everything the agent sends until it is quiet for `quiet` seconds or
    ends the connection; notes a reset or a close (for TLS, an EOF without
    close_notify counts as a close)."""
    data = b""
    s.settimeout(quiet)
    while True:
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            res["reset"] = True
            break
        except ssl.SSLError:
            res["closed"] = True
            break
        if not c:
            res["closed"] = True
            break
        data += c
    return data


def probe(port, head, body=SMUGGLED, source=None, quiet=3.0, extra=b"",
          before=0.0, tls=False):
    """Send head + body (+ extra, in the background), collect the answer.

    Returns a dict: statuses (every status line seen, in order), closed
    (the agent closed the connection), reset (ECONNRESET or EPIPE on
    either side), data (all bytes received).  With tls, everything is
    sent before anything is read (an SSL object is not shared between
    threads)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                 source_address=(source, 0) if source else None)
    res = {"reset": False, "closed": False}
    if tls:
        return tls_probe(s, head + body, extra, quiet, res)

    def sender():
        try:
            s.sendall(head + body)
            if extra:
                time.sleep(0.05)
                for i in range(0, len(extra), 16384):
                    s.sendall(extra[i:i + 16384])
        except (ConnectionResetError, BrokenPipeError):
            res["reset"] = True
        except OSError:
            pass
    t = threading.Thread(target=sender, daemon=True)
    if before:
        time.sleep(before)
    t.start()
    data = read_until_quiet(s, quiet, res)
    t.join(5)
    s.close()
    res["data"] = data
    res["statuses"] = statuses(data)
    return res


def tls_probe(raw, wire, extra, quiet, res):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(raw)
    try:
        s.sendall(wire)
        time.sleep(0.05)
        for i in range(0, len(extra), 16384):
            s.sendall(extra[i:i + 16384])
    except (ConnectionResetError, BrokenPipeError):
        res["reset"] = True
    except OSError:
        pass
    data = read_until_quiet(s, quiet, res)
    s.close()
    res["data"] = data
    res["statuses"] = statuses(data)
    return res


def statuses(data):
    """The status of each response in data, walking Content-Length framed
    answers one after the other (the agent's own answers always carry
    one); anything unparsable ends the walk with -1."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        if not data.startswith(b"HTTP/1.1 ") or end < 0:
            out.append(-1)
            break
        lines = data[:end].split(b"\r\n")
        out.append(int(lines[0].split(b" ")[1]))
        n = 0
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        if out[-1] == 100:
            n = 0
        data = data[end + 4 + n:]
    return out


def cl_head(method, path, n, headers=b""):
    return (b"%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" %
            (method.encode(), path.encode(), headers, n))


def chunked(body):
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def chunked_head(method, path, headers=b""):
    return (b"%s %s HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n" %
            (method.encode(), path.encode(), headers))
