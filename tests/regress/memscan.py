#!/usr/bin/env python3
"""memscan.py [-v] PID HEXNEEDLE...: print how many times each needle (hex
bytes) occurs in the readable memory of PID. Needs root (reads
/proc/PID/mem). With -v, also print to stderr where each copy is: the
mapping, the address and the bytes around it (to find who kept it)."""
import re
import sys

args = sys.argv[1:]
verbose = bool(args) and args[0] == "-v"
if verbose:
    args = args[1:]
pid = args[0]
needles = [bytes.fromhex(h) for h in args[1:]]
counts = [0] * len(needles)
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if perms[0] != "r" or "[vvar]" in line or "[vsyscall]" in line:
            continue
        try:
            mem.seek(start)
            chunk = mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        for i, n in enumerate(needles):
            counts[i] += chunk.count(n)
            if not verbose:
                continue
            at = chunk.find(n)
            while at != -1:
                ctx = chunk[max(0, at - 48):at + len(n) + 16]
                print(f"{line.split()[-1] if len(line.split()) > 5 else '[anon]'}"
                      f" {start + at:#x}: {ctx!r}", file=sys.stderr)
                at = chunk.find(n, at + 1)
print(" ".join(str(c) for c in counts))
