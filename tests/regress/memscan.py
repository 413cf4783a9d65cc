#!/usr/bin/env python3
"""memscan.py PID HEXNEEDLE...: print how many times each needle (hex bytes)
occurs in the readable memory of PID. Needs root (reads /proc/PID/mem)."""
import re
import sys

pid = sys.argv[1]
needles = [bytes.fromhex(h) for h in sys.argv[2:]]
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
print(" ".join(str(c) for c in counts))
