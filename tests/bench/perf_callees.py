#!/usr/bin/env python3
"""Splits a function's perf samples by what it called.

    perf record -F 999 --call-graph dwarf,16384 -p $CAIRND_PID -o p.data -- sleep 5
    perf script -i p.data --tid $WRITER_TID | python3 perf_callees.py SqliteStore::RunBatch

For every sample whose call stack passes through a frame containing FUNC
(the innermost such frame), counts the chain of DEPTH frames FUNC called
on the way to the sample, and prints the chains by share of FUNC's
samples. "(self)" is time in FUNC itself. The figures in
docs/performance.md ("Eighth session") came from it.
"""
import collections
import re
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    func = sys.argv[1]
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    counts = collections.Counter()
    total = hit = 0
    stack = []  # innermost frame first, as perf script prints them

    def flush():
        nonlocal total, hit
        if not stack:
            return
        total += 1
        for i, frame in enumerate(stack):
            if func in frame:
                hit += 1
                callees = stack[max(0, i - depth):i][::-1]
                counts[" > ".join(f[:90] for f in callees) or "(self)"] += 1
                break

    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            stack = []
        elif line[0] in " \t":
            parts = line.strip().split(" ", 1)
            if len(parts) == 2:
                symbol = re.sub(r"\+0x[0-9a-f]+ \(.*\)$", "", parts[1])
                stack.append(re.sub(r" \(.*\)$", "", symbol))
    flush()
    print(f"{total} samples, {hit} through {func}")
    for chain, n in counts.most_common(40):
        print(f"{n:6d} {100 * n / max(hit, 1):5.1f}%  {chain}")


if __name__ == "__main__":
    main()
