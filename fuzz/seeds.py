#!/usr/bin/env python3
"""Writes starting inputs for every harness into OUTDIR/<harness>/.

The committed corpora (fuzz/corpus/<harness>/) are what libFuzzer grew from
these seeds, minimised with -merge=1; rerun this only to start afresh:
    fuzz/seeds.py /tmp/seeds && fuzz_wire -merge=1 fuzz/corpus/wire /tmp/seeds/wire
Sources: the schema examples (schemas/examples/) and the normaliser test
tables (tests/common/normalise_*_test.cc)."""
import ast
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# fuzz_wire.cc's dispatch table: first byte -> decoder.
WIRE = {
    "signals-request": [0], "retract-request": [1], "query-request": [2, 3],
    "disposition-request": [4], "create-member-request": [5],
    "suspend-member-request": [6], "add-fingerprint-request": [7],
    "set-roles-request": [8], "empty-request": [9], "signals-response": [11],
    "retract-response": [12], "query-response": [13],
    "disposition-response": [14], "feed-response": [15],
    "notifications-response": [16], "me-response": [17],
    "health-response": [18], "member-list-response": [19], "error": [20],
}
NORMALISE = {"email": 0, "phone": 1, "handle": 2, "device": 3, "url": 4}


def write(outdir, harness, data):
    d = os.path.join(outdir, harness)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def test_strings(kind):
    path = os.path.join(ROOT, "tests", "common", f"normalise_{kind}_test.cc")
    out = []
    for lit in re.findall(r'\{\s*("(?:[^"\\]|\\.)*")', open(path).read()):
        try:
            out.append(ast.literal_eval(lit).encode("utf-8", "surrogatepass"))
        except (ValueError, SyntaxError):
            pass
    return out


def main(outdir):
    examples = os.path.join(ROOT, "schemas", "examples")
    for name, selectors in WIRE.items():
        d = os.path.join(examples, name)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".json"):
                body = open(os.path.join(d, f), "rb").read()
                for s in selectors:
                    write(outdir, "wire", bytes([s]) + body)
    for q in [b"", b"after=42&limit=100", b"limit=1", b"after=abc"]:
        write(outdir, "wire", bytes([10]) + q)
    gen_b64 = b"4vKuCmq8TnGohKlhxQBRX1jjC2qlgt2NtqZZReCNLXY="
    write(outdir, "wire", bytes([21]) + b'{"epoch":0,"elements":["' +
          gen_b64 + b'"]}')
    write(outdir, "wire", bytes([22]) + b'{"epoch":0,"evaluated":["' +
          gen_b64 + b'"],"proof":"' + b"A" * 86 + b'=="}')
    period = b"from=2026-01-01T00%3A00%3A00Z&to=2026-02-01T00:00:00Z"
    write(outdir, "wire", bytes([23]) + period + b"&member=alpha"
          b"&pending_days=7")
    write(outdir, "wire", bytes([24]) + period + b"&after=5&limit=10")
    write(outdir, "wire", bytes([27]) + b'{"checkpoints":[{"seq":1,'
          b'"head_hash":"' + b"ab" * 32 + b'","at":"2026-01-01T00:00:00Z",'
          b'"key_id":"k1","signature":"' + b"A" * 86 + b'=="}],'
          b'"cursor":"1","more":false}')
    write(outdir, "wire", bytes([28]) + b'{"results":[{"index":0,'
          b'"status":"created","signal_id":"s_' + b"ab" * 16 + b'"},'
          b'{"index":1,"status":"error","error":{"code":"invalid_argument",'
          b'"message":"kind not registered","field":"signals[1].kind"}}]}')
    write(outdir, "wire", bytes([29]) + b'{"kind":"steam_id"}')
    write(outdir, "wire", bytes([30]) + b'{"kinds":[{"name":"email",'
          b'"builtin":true},{"name":"steam_id","builtin":false}]}')

    for kind, selector in NORMALISE.items():
        for raw in test_strings(kind):
            if kind == "phone":
                raw = b"GB" + raw
            write(outdir, "normalise", bytes([selector]) + raw)
    for raw in [b"  Custom Value ", b"email:Jane@Example.com",
                b"x-custom:abc"]:
        write(outdir, "normalise", bytes([5 if b":" not in raw else 6]) + raw)

    for text in [b"00ff", b"DEADbeef", b"0", b"zz"]:
        write(outdir, "encoding", b"\x00" + text)
        write(outdir, "encoding", b"\x01" + text)
    for text in [b"", b"AA==", b"AAE=", b"AQID", b"A===", b"AB=="]:
        write(outdir, "encoding", b"\x02" + text)

    gen = bytes.fromhex(
        "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")
    write(outdir, "oprf", b"\x00" + gen)
    write(outdir, "oprf", b"\x00" + bytes(32))
    write(outdir, "oprf", b"\x01" + bytes(64))
    write(outdir, "oprf", b"\x02" + bytes([1]) + bytes(31) + gen + b"in")
    write(outdir, "oprf", b"\x03hello")
    write(outdir, "oprf", b"\x04\x00\x20\x04DST-msg")

    token = b"a3" * 32
    sig = (b'{"signals":[{"kind":"email","token":"' + token +
           b'","category":"grooming","severity":"high",'
           b'"banned_at":"2026-11-20T10:00:00Z"}]}')
    qry = b'{"queries":[{"kind":"email","token":"' + token + b'"}]}'
    ret = (b'{"retractions":[{"kind":"email","token":"' + token +
           b'","reason":"appeal_upheld"}]}')
    js = b"Content-Type: application/json\n\n"
    api = [
        (0, b"GET /v1/me\n\n"),
        (0, b"GET /healthz\n\n"),
        (2, b"GET /metrics\n\n"),
        (0, b"POST /v1/signals\n" + js + sig),
        (1, b"POST /v1/query\n" + js + qry),
        (0, b"POST /v1/signals/retract\n" + js + ret),
        (0, b"GET /v1/feed?after=0&limit=10\n\n"),
        (1, b"GET /v1/notifications\n\n"),
        (1, b"POST /v1/matches/x_1/disposition\n" + js +
            b'{"disposition":"confirmed"}'),
        (2, b"GET /v1/admin/members\n\n"),
        (2, b"POST /v1/admin/members\n" + js +
            b'{"member_id":"delta","name":"Delta","roles":["member"],'
            b'"fingerprints":["' + b"9" * 64 + b'"]}'),
        (2, b"GET /v1/admin/members/alpha\n\n"),
        (2, b"POST /v1/admin/members/delta/suspend\n" + js +
            b'{"reason":"test"}'),
        (2, b"POST /v1/admin/members/delta/resume\n" + js + b"{}"),
        (2, b"POST /v1/admin/members/delta/fingerprints\n" + js +
            b'{"fingerprint":"' + b"8" * 64 + b'"}'),
        (2, b"POST /v1/admin/members/delta/fingerprints/" + b"8" * 64 +
            b"/revoke\n" + js + b"{}"),
        (2, b"PUT /v1/admin/members/delta/roles\n" + js +
            b'{"roles":["member","compliance"]}'),
        (0, b"POST /v1/oprf/evaluate\n" + js + b'{"epoch":1,"elements":["' +
            gen_b64 + b'"]}'),
        (3, b"GET /v1/reports/summary?from=2026-01-01T00:00:00Z"
            b"&to=2026-12-01T00:00:00Z\n\n"),
        (0, b"GET /v1/reports/matches?from=2026-01-01T00:00:00Z"
            b"&to=2026-12-01T00:00:00Z\n\n"),
        (0, b"GET /v1/audit/checkpoints?after=0&limit=5\n\n"),
        (2, b"POST /v1/admin/keys/rotate\n" + js + b"{}"),
        (4, b"GET /v1/me\n\n"),
        (5, b"GET /metrics\n\n"),
        (0, b"DELETE /v1/signals\n\n"),
    ]
    for caller, text in api:
        write(outdir, "api", bytes([caller]) + text)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz/seeds.py OUTDIR")
    main(sys.argv[1])
