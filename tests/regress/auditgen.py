#!/usr/bin/env python3
"""auditgen.py: write a valid hash-chained audit log, independently of
portwing's C code, for the audit-verify tests.

    auditgen.py [options] OUT

Each line is a compact JSON object: "time", "level", "msg", "event", the
event's fields, "seq", optionally "dropped", "prev", then "hash" last, where
hash = hex(SHA-256(the line's bytes up to, not including, ,"hash":")) and
prev = the hash of the line before (64 zeros where a chain starts fresh).

Options:
    -n N                 records to write (default 40)
    --seed S             random seed (default 1)
    --start-seq S        seq of the first record (default 1)
    --start-prev HEX     prev of the first record (default 64 zeros)
    --gap LINE:N         the record on LINE declares N dropped records
    --restart LINE:SEQ   the record on LINE restarts the chain at SEQ
    --skip LINE:N        the record on LINE jumps N seqs WITHOUT declaring
                         it, otherwise well chained (a bad file on purpose)
    --big LINE:BYTES     pad the record on LINE to about BYTES bytes
    --set LINE:KEY=JSON  give the record on LINE this member (replaced in
                         place, or added before "prev"), then hash it
    --del LINE:KEY       leave KEY out of the record on LINE, then hash it

Prints what a verifier must find, one key=value a line: records,
first_seq, last_seq, last_hash, then gap=LINE:N:SEQ and restart=LINE:SEQ
in line order.  Lines are 1-based.
"""
import argparse
import hashlib
import json
import random
import sys

ZERO = "0" * 64

ACTORS = ["127.0.0.1", "10.1.2.3", "[::1]", "key:3f9a0c1d2e4b5a69",
          "token:ops", "unix"]
PATHS = ["/_ping", "/v1.43/containers/json?all=1", "/containers/create",
         "/v1.43/images/create?fromImage=busybox&tag=latest",
         "/containers/abc/exec", "/info", "/volumes/données",
         "/containers/json?filters={\"label\":[\"a<b\"]}"]


def pair(s):
    a, b = s.split(":", 1)
    return int(a), int(b)


def member(s):
    line, rest = s.split(":", 1)
    key, _, value = rest.partition("=")
    return int(line), key, value


def fields(rng, i):
    """The event-specific part of record i: a mix of kinds and types."""
    kind = i % 6
    if kind in (0, 1, 3):
        method = rng.choice(["GET", "POST", "DELETE", "HEAD"])
        status = 200 if kind == 0 else rng.choice([200, 201, 204, 403,
                                                   404, 500])
        return "api_request", "INFO", "", [
            ("actor", rng.choice(ACTORS)), ("method", method),
            ("path", rng.choice(PATHS)),
            ("outcome", "denied" if status == 403 else "allowed"),
            ("status", status),
            ("duration_ms", round(rng.uniform(0.01, 900.0), 2))]
    if kind == 2:
        return "auth_failure", "WARN", "authentication failed", [
            ("actor", rng.choice(ACTORS)),
            ("reason", rng.choice(["bad-token", "unknown-key",
                                   "stale-timestamp", "replayed nonce"])),
            ("attempts", rng.randint(1, 50))]
    if kind == 4:
        return "approval", "INFO", "approval decided", [
            ("actor", rng.choice(ACTORS)),
            ("request_id", "%032x" % rng.getrandbits(128)),
            ("decision", rng.choice(["approved", "rejected", "expired"])),
            ("approver", rng.choice(["alice", "bob", "Zoë \"ops\""])),
            ("labels", {"com.example/team": "infra", "n": i}),
            ("ttl_s", None if i % 2 else 300)]
    return "config_reload", "INFO", "configuration reloaded", [
        ("source", "SIGHUP"), ("keys", rng.randint(0, 9)),
        ("changed", ["AUTHORIZED_KEYS", "ALLOW_\u00e9"]), ("ok", True)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start-seq", type=int, default=1)
    ap.add_argument("--start-prev", default=ZERO)
    ap.add_argument("--gap", type=pair, action="append", default=[])
    ap.add_argument("--restart", type=pair, action="append", default=[])
    ap.add_argument("--skip", type=pair, action="append", default=[])
    ap.add_argument("--big", type=pair, action="append", default=[])
    ap.add_argument("--set", type=member, action="append", default=[])
    ap.add_argument("--del", type=member, action="append", default=[],
                    dest="delete")
    ap.add_argument("out")
    a = ap.parse_args()
    gaps, restarts, skips = dict(a.gap), dict(a.restart), dict(a.skip)
    bigs = dict(a.big)
    rng = random.Random(a.seed)

    prev, seq, notes = a.start_prev, a.start_seq, []
    with open(a.out, "wb") as f:
        for line in range(1, a.n + 1):
            if line in restarts:
                prev, seq = ZERO, restarts[line]
                notes.append("restart=%d:%d" % (line, seq))
            elif line > 1:
                seq += 1 + gaps.get(line, 0) + skips.get(line, 0)
            event, level, msg, extra = fields(rng, line)
            if line in bigs:
                extra.append(("body", "x" * bigs[line]))
            rec = [("time", "2026-01-15T10:%02d:%02d.%09dZ" % (
                       line // 60 % 60, line % 60, rng.randrange(10**9))),
                   ("level", level), ("msg", msg), ("event", event)]
            rec += extra
            rec.append(("seq", seq))
            if line in gaps:
                rec.append(("dropped", gaps[line]))
                notes.append("gap=%d:%d:%d" % (line, gaps[line], seq))
            rec.append(("prev", prev))
            for ln, key, value in a.set:
                if ln != line:
                    continue
                keys = [k for k, _ in rec]
                if key in keys:
                    rec[keys.index(key)] = (key, json.loads(value))
                else:
                    rec.insert(len(rec) - 1, (key, json.loads(value)))
            rec = [(k, v) for k, v in rec
                   if (line, k) not in [(ln, key) for ln, key, _ in a.delete]]
            # Go's encoder style: compact, raw UTF-8, <>& escaped.
            text = json.dumps(dict(rec), ensure_ascii=False,
                              separators=(",", ":"))
            text = (text.replace("<", "\\u003c").replace(">", "\\u003e")
                    .replace("&", "\\u0026"))
            body = text[:-1].encode("utf-8")
            digest = hashlib.sha256(body).hexdigest()
            f.write(body + b',"hash":"' + digest.encode() + b'"}\n')
            prev = digest
            if line == 1:
                first_seq = seq
    if a.n == 0:
        print("records=0")
        return
    print("records=%d" % a.n)
    print("first_seq=%d" % first_seq)
    print("last_seq=%d" % seq)
    print("last_hash=%s" % prev)
    for n in notes:
        print(n)


if __name__ == "__main__":
    sys.exit(main())
