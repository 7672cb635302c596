#!/usr/bin/env python3
"""Chooses at most N inputs that cover the most coverage edges.

usage: fuzz/pick_corpus.py CONTROL_FILE OUTDIR N
CONTROL_FILE comes from a libFuzzer merge, e.g.
    fuzz_wire -merge=1 -merge_control_file=/tmp/ctl /tmp/merged /tmp/corpus/wire
Greedy set cover over its COV lines (edges), then FT lines (features);
writes the chosen inputs to OUTDIR named by their SHA-1."""
import shutil, sys, os, hashlib
ctl, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(ctl).read().split("\n")
num_files = int(lines[0]); files = lines[2:2 + num_files]
cov = {}
ft = {}
for l in lines[2 + num_files:]:
    p = l.split()
    if not p: continue
    if p[0] == "COV": cov[int(p[1])] = set(p[2:])
    if p[0] == "FT": ft[int(p[1])] = set(p[2:])
covered, chosen = set(), []
allpcs = set().union(*cov.values()) if cov else set()
while len(chosen) < n:
    best = max(cov, key=lambda i: (len(cov[i] - covered), -os.path.getsize(files[i])), default=None)
    if best is None or not (cov[best] - covered): break
    chosen.append(best); covered |= cov[best]
# fill remaining slots by features
cf = set().union(*(ft.get(i, set()) for i in chosen)) if chosen else set()
while len(chosen) < n:
    cand = [i for i in ft if i not in chosen]
    if not cand: break
    best = max(cand, key=lambda i: len(ft[i] - cf))
    if not (ft[best] - cf): break
    chosen.append(best); cf |= ft[best]
os.makedirs(out, exist_ok=True)
for i in chosen:
    data = open(files[i], "rb").read()
    open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb").write(data)
print(f"{len(chosen)} files, {len(covered)}/{len(allpcs)} PCs, {len(cf)}/{len(set().union(*ft.values()))} features")
