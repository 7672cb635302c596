#!/usr/bin/env python3
"""Which tables and indexes a hub's commits write (docs/performance.md).

Usage, while a load runs against cairnd:
    cp DATA/cairn.db /tmp/w.db && cp DATA/cairn.db-wal /tmp/w.wal
    python3 tests/bench/wal_pages.py /tmp/w.wal /tmp/w.db

Reads the frames of the -wal file's current generation (those with its
header's salts), splits them into commits (a frame with a non-zero "database
size after commit" ends one), and maps each frame's page number to its table
or index with SQLite's dbstat table over the copy. Prints the frames per
commit and, per table or index, the pages each commit wrote on average.
A copy taken while a checkpoint runs can be inconsistent ("database disk
image is malformed"): take another.
"""
import collections
import shutil
import sqlite3
import struct
import sys


def commits(wal_path):
    data = open(wal_path, 'rb').read()
    page_size = struct.unpack('>I', data[8:12])[0]
    salts = struct.unpack('>II', data[16:24])
    out, current, off = [], [], 32
    while off + 24 + page_size <= len(data):
        page, commit, s1, s2 = struct.unpack('>IIII', data[off:off + 16])
        if (s1, s2) != salts:
            break
        current.append(page)
        if commit:
            out.append(current)
            current = []
        off += 24 + page_size
    return out


def main():
    wal, db = sys.argv[1], sys.argv[2]
    found = commits(wal)
    if not found:
        sys.exit('no complete commit in ' + wal)
    shutil.copy(wal, db + '-wal')
    con = sqlite3.connect('file:' + db + '?mode=ro', uri=True)
    owner = {p: (n, t) for p, n, t in
             con.execute('SELECT pageno, name, pagetype FROM dbstat')}
    per = collections.Counter()
    for pages in found:
        for p in pages:
            per[owner.get(p, ('?', '?'))] += 1
    total = sum(map(len, found))
    print('commits %d, frames per commit %.1f' % (len(found), total / len(found)))
    for (name, kind), n in per.most_common():
        print('%6.1f  %s (%s)' % (n / len(found), name, kind))


if __name__ == '__main__':
    main()
