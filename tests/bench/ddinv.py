#!/usr/bin/env python3
"""ddinv.py create|start|remove DOCKER_SOCK [IMAGE N | N]: the bench's
containers for the Drydock inventory workload, made (or removed) through
the Engine API with a few requests in flight at once; start runs the
first N of them (pwbench-dd-0 ...).  They carry the label
pwbench.dd=1 and some dd.* labels, env and a bind mount, so each one's
model is about as big as a real service's."""
import http.client
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("docker", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(sock, method, url, body=None):
    c = UnixConn(sock)
    c.request(method, url, body=json.dumps(body) if body else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def main():
    cmd, sock = sys.argv[1], sys.argv[2]
    if cmd == "create":
        image, n = sys.argv[3], int(sys.argv[4])

        def one(i):
            st, data = call(sock, "POST", "/containers/create?name=pwbench-dd-%d" % i, {
                "Image": image, "Cmd": ["sleep", "3600"],
                "Env": ["APP_ENV=bench", "INDEX=%d" % i],
                "Labels": {"pwbench.dd": "1", "dd.display.name": "Bench %d" % i,
                           "dd.tag.include": "^\\d+\\.\\d+$"},
                "HostConfig": {"NetworkMode": "none",
                               "Binds": ["/tmp:/data:ro"]}})
            if st != 201:
                raise SystemExit("create %d: %d %s" % (i, st, data[:200]))
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(one, range(n)))
    elif cmd == "start":
        n = int(sys.argv[3])

        def start(i):
            st, data = call(sock, "POST", "/containers/pwbench-dd-%d/start" % i)
            if st not in (204, 304):
                raise SystemExit("start %d: %d %s" % (i, st, data[:200]))
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(start, range(n)))
    elif cmd == "remove":
        st, data = call(sock, "GET", "/containers/json?all=1&filters=" +
                        "%7B%22label%22%3A%5B%22pwbench.dd%3D1%22%5D%7D")
        ids = [c["Id"] for c in json.loads(data)] if st == 200 else []
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda i: call(sock, "DELETE",
                                       "/containers/%s?force=1" % i), ids))
    else:
        raise SystemExit("usage: ddinv.py create|start|remove SOCK [IMAGE N | N]")


main()
