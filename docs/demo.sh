#!/usr/bin/env bash
# demo.sh: a Cairn hub on this machine, two member platforms, one ban shared.
#
# Usage: docs/demo.sh [--keep-running]
#
# Run from anywhere after `cmake --preset release && cmake --build --preset
# release`. Everything it makes lives in demo/ at the top of the repository
# (git-ignored):
#   demo/pki/            development PKI (certs/make-dev-pki.sh), reused if valid
#   demo/data/           a fresh hub database (`cairnctl init`), remade each run
#   demo/cairnd.toml     the hub's configuration (port 0: the kernel picks one)
#   demo/hub.log         the hub's log, one line per request
#   demo/consortium.key  the members' shared key (`cairn keygen`)
#   demo/*.json          the request bodies and answers shown on screen
#
# The story: the hub starts; the operator registers members alpha and beta;
# alpha tokenises three identifiers of an account it banned and submits the
# tokens; beta, which knows the same person under differently written
# identifiers, tokenises and queries them and gets matches back, while the
# identifiers that match nothing are neither stored nor logged.
#
# Every command that talks to the hub is printed before it runs, so it can be
# copied and run again by hand (from the repository root).
#
# Environment:
#   CAIRN_BUILD_DIR   build tree holding server/cairnd, server/cairnctl and
#                     client/cairn (default: build/release)
#
# --keep-running leaves the hub running at the end and prints how to stop it;
# otherwise the hub is stopped with SIGTERM (a graceful shutdown).
set -euo pipefail

usage() {
  echo "usage: $0 [--keep-running]" >&2
  echo "  runs a local Cairn hub, registers two members and shares a ban;" >&2
  echo "  --keep-running leaves the hub running afterwards" >&2
  exit 2
}

keep_running=0
for arg in "$@"; do
  case "$arg" in
    --keep-running) keep_running=1 ;;
    -h | --help) usage ;;
    *) echo "error: unknown argument '$arg'" >&2; usage ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CAIRN_BUILD_DIR:-$repo/build/release}"
build="$(cd "$build" 2>/dev/null && pwd)" || {
  echo "error: build directory '${CAIRN_BUILD_DIR:-$repo/build/release}' does not exist;" \
    "build first: cmake --preset release && cmake --build --preset release" >&2
  exit 1
}
cd "$repo"

cairnd="$build/server/cairnd"
cairnctl="$build/server/cairnctl"
cairn="$build/client/cairn"
for tool in "$cairnd" "$cairnctl" "$cairn"; do
  [[ -x "$tool" ]] || {
    echo "error: $tool is missing; build first:" \
      "cmake --preset release && cmake --build --preset release" \
      "(or point CAIRN_BUILD_DIR at another build tree)" >&2
    exit 1
  }
done
for tool in curl openssl python3; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool not found; run ./install-deps.sh first" >&2
    exit 1
  }
done

# Paths shown in printed commands are relative to the repository root.
demo=demo
pki="$demo/pki"
# Commands are shown with short names; these make the short names work.
export PATH="$build/server:$build/client:$PATH"

if [[ -t 1 ]]; then bold=$'\e[1m'; dim=$'\e[2m'; plain=$'\e[0m'; else bold=; dim=; plain=; fi

step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$plain"; }
say() { printf '%s\n' "$*"; }
# Prints a command, then runs exactly that text.
run() {
  printf '%s$ %s%s\n' "$dim" "$1" "$plain"
  eval "$1"
}

hub_pid=""
finished=0
on_exit() {
  local status=$?
  if [[ -n "$hub_pid" ]] && { [[ $finished -eq 0 ]] || [[ $keep_running -eq 0 ]]; }; then
    kill -TERM "$hub_pid" 2>/dev/null || true
    wait "$hub_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 ]]; then
    echo "demo failed (exit $status)." >&2
    if [[ -s "$demo/hub.log" ]]; then
      echo "last lines of $demo/hub.log:" >&2
      tail -n 15 "$demo/hub.log" >&2
    fi
    if [[ -s "$demo/cairnd.out" ]]; then
      echo "cairnd's own output ($demo/cairnd.out):" >&2
      tail -n 15 "$demo/cairnd.out" >&2
    fi
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
say "Commands are printed before they run, from $repo, with"
say "PATH=$build/server:$build/client:\$PATH"

step "0. Clean up what an earlier run left"
# A hub left running by --keep-running holds the old database open.
if [[ -f "$demo/cairnd.pid" ]]; then
  old_pid="$(cat "$demo/cairnd.pid")"
  if [[ "$old_pid" =~ ^[0-9]+$ ]] && [[ "$(cat "/proc/$old_pid/comm" 2>/dev/null)" == cairnd ]]; then
    say "stopping the hub an earlier demo left running (PID $old_pid)"
    kill -TERM "$old_pid"
    for _ in $(seq 150); do
      kill -0 "$old_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$old_pid" 2>/dev/null; then
      echo "error: cairnd PID $old_pid did not stop within 15 s; stop it and re-run" >&2
      exit 1
    fi
  fi
  rm -f "$demo/cairnd.pid"
fi
rm -rf "$demo/data" "$demo/ports" "$demo/hub.log" "$demo/cairnd.out" \
  "$demo/cairnd.toml" "$demo/consortium.key" "$demo"/*.json "$demo"/*.tsv
mkdir -p "$demo"
say "removed the old demo database, key and logs (the PKI in $pki is kept)"

# ---------------------------------------------------------------------------
step "1. A development PKI"
pki_ok=1
for name in ca server alpha beta operator; do
  if ! openssl x509 -checkend 3600 -noout -in "$pki/$name.crt" >/dev/null 2>&1 ||
    [[ ! -f "$pki/$name.key" && $name != ca ]]; then
    pki_ok=0
  fi
done
if [[ $pki_ok -eq 1 ]]; then
  say "reusing the development PKI in $pki"
  cat "$pki/fingerprints.txt"
else
  run "certs/make-dev-pki.sh --force $pki"
fi
say "(development only: see docs/operator-guide.md for a production PKI)"

# ---------------------------------------------------------------------------
step "2. Initialise the hub's database with its first operator"
run "cairnctl init --data $demo/data --operator-cert $pki/operator.crt"

# ---------------------------------------------------------------------------
step "3. Start the hub"
cat >"$demo/cairnd.toml" <<'EOF'
# The demo hub. Every key is documented in server/cairnd.example.toml and
# docs/operator-guide.md. Relative paths are relative to this file.
[listen]
# Port 0: the kernel picks a free port; cairnd writes it to port_file.
addresses = ["127.0.0.1:0"]
port_file = "ports"
io_threads = 2

[tls]
cert = "pki/server.crt"
key = "pki/server.key"
ca = "pki/ca.crt"

[store]
data_dir = "data"

[log]
file = "hub.log"
EOF
say "wrote $demo/cairnd.toml:"
sed 's/^/    /' "$demo/cairnd.toml"
printf '%s$ %s%s\n' "$dim" "cairnd --config $demo/cairnd.toml &" "$plain"
cairnd --config "$demo/cairnd.toml" </dev/null >"$demo/cairnd.out" 2>&1 &
hub_pid=$!
echo "$hub_pid" >"$demo/cairnd.pid"

port=""
for _ in $(seq 200); do
  if [[ -s "$demo/ports" ]]; then
    port="$(awk '$1 == "listen" { print $3; exit }' "$demo/ports")"
    [[ -n "$port" ]] && break
  fi
  if ! kill -0 "$hub_pid" 2>/dev/null; then
    wait "$hub_pid" || true
    hub_pid=""
    echo "error: cairnd exited during start-up" >&2
    exit 1
  fi
  sleep 0.05
done
[[ -n "$port" ]] || { echo "error: cairnd did not report its port within 10 s" >&2; exit 1; }
hub="https://127.0.0.1:$port"
say "cairnd is running as PID $hub_pid and listening on $hub"

say "/healthz answers any client whose certificate the CA signed (alpha is not even registered yet):"
run "curl -sS --fail-with-body --cacert $pki/ca.crt --cert $pki/alpha.crt --key $pki/alpha.key $hub/healthz; echo"

# ---------------------------------------------------------------------------
step "4. The operator registers two member platforms"
say "cairnctl talks to the hub's admin API over mTLS with the operator's certificate."
run "export CAIRN_HUB=$hub CAIRNCTL_CERT=$pki/operator.crt CAIRNCTL_KEY=$pki/operator.key CAIRNCTL_CACERT=$pki/ca.crt"
run "cairnctl member add alpha --name 'Alpha Social' --role member --member-cert $pki/alpha.crt"
run "cairnctl member add beta --name 'Beta Chat' --role member --member-cert $pki/beta.crt"
run "cairnctl member list"

# ---------------------------------------------------------------------------
step "5. The members share a consortium key (the hub never gets it)"
run "cairn keygen $demo/consortium.key"

# ---------------------------------------------------------------------------
step "6. Alpha tokenises the identifiers of an account it banned"
say "Normalisation first (Gmail ignores dots and +tags; a UK number in national"
say "format becomes E.164; fullwidth letters fold to ASCII), then HMAC-SHA-256"
say "under the consortium key. Only the token column ever leaves alpha."
run "cairn token --key $demo/consortium.key --kind email ' Jane.Doe+groom@GMail.com' | tee $demo/alpha-tokens.tsv"
run "cairn token --key $demo/consortium.key --kind phone --region GB '07400 123456' | tee -a $demo/alpha-tokens.tsv"
run "cairn token --key $demo/consortium.key --kind handle 'discord:@Ｓｈａｄｏｗ＿Ｆｏｘ' | tee -a $demo/alpha-tokens.tsv"

banned_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
python3 - "$demo/alpha-tokens.tsv" "$banned_at" >"$demo/alpha-ban.json" <<'EOF'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
signals = []
for number, (kind, _normalised, token) in enumerate(rows):
    signals.append({
        "kind": kind, "token": token, "category": "grooming", "severity": "high",
        "banned_at": sys.argv[2],
        # alpha lets other members see that the e-mail ban is its own
        "attribution": kind == "email",
        "ref": "alpha-case-%d" % (1001 + number),
    })
print(json.dumps({"signals": signals}, indent=2))
EOF

# ---------------------------------------------------------------------------
step "7. Alpha submits the ban (POST /v1/signals)"
say "The body ($demo/alpha-ban.json) carries tokens, never identifiers:"
sed 's/^/    /' "$demo/alpha-ban.json"
curl_alpha="curl -sS --fail-with-body --cacert $pki/ca.crt --cert $pki/alpha.crt --key $pki/alpha.key -H 'Content-Type: application/json'"
curl_beta="curl -sS --fail-with-body --cacert $pki/ca.crt --cert $pki/beta.crt --key $pki/beta.key -H 'Content-Type: application/json'"
run "$curl_alpha -H 'Idempotency-Key: demo-ban-1' --data-binary @$demo/alpha-ban.json $hub/v1/signals | python3 -m json.tool"
say "Re-sending this exact request (same Idempotency-Key) stores nothing twice:"
say "the hub replays its first answer."

# ---------------------------------------------------------------------------
step "8. Beta checks accounts on its own platform (POST /v1/query)"
say "Beta knows the same person as janedoe@googlemail.com, +44 7400 123456 and"
say "discord:shadow_fox, and also checks two unrelated accounts."
beta_ids=(
  "email	janedoe@googlemail.com"
  "email	someone.else@example.org"
  "phone	+44 7400 123456"
  "phone	+44 7400 654321"
  "handle	discord:shadow_fox"
)
run "cairn token --key $demo/consortium.key --kind email janedoe@googlemail.com someone.else@example.org | tee $demo/beta-tokens.tsv"
run "cairn token --key $demo/consortium.key --kind phone '+44 7400 123456' '+44 7400 654321' | tee -a $demo/beta-tokens.tsv"
run "cairn token --key $demo/consortium.key --kind handle discord:shadow_fox | tee -a $demo/beta-tokens.tsv"

# One query per line of beta-tokens.tsv, in the order of beta_ids.
python3 - "$demo/beta-tokens.tsv" >"$demo/beta-query.json" <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
print(json.dumps({"queries": [{"kind": kind, "token": token} for kind, _, token in rows]},
                 indent=2))
PY
run "$curl_beta --data-binary @$demo/beta-query.json $hub/v1/query | tee $demo/beta-matches.json | python3 -m json.tool"

step "9. What beta learned"
python3 - "$demo/beta-matches.json" "${beta_ids[@]}" <<'EOF'
import json, sys
answer = json.load(open(sys.argv[1]))
matches = {m["index"]: m for m in answer["matches"]}
for index, entry in enumerate(sys.argv[2:]):
    kind, raw = entry.split("\t")
    m = matches.get(index)
    if m is None:
        print("  %-7s %-26s no match (not stored, not logged)" % (kind, raw))
    else:
        who = ", reported by " + ", ".join(m["attributed_to"]) if m.get("attributed_to") else ""
        print("  %-7s %-26s MATCH %s: %s, %s severity, %d platform(s)%s" % (
            kind, raw, m["match_id"], "/".join(m["categories"]), m["max_severity"],
            m["platforms"], who))
print()
print("%d of %d queried identifiers matched. A match is a lead for human review," %
      (len(matches), answer["queried"]))
print("never a verdict: beta's reviewers look at the account and record the outcome")
print("with POST /v1/matches/{match_id}/disposition (see docs/integration-guide.md).")
EOF
unrelated="$(awk -F'\t' 'NR == 2 || NR == 4 { print $3 }' "$demo/beta-tokens.tsv")"
in_log=0
for token in $unrelated; do
  if grep -q "$token" "$demo/hub.log"; then in_log=1; fi
done
if [[ $in_log -eq 0 ]]; then
  say "The hub's log ($demo/hub.log) holds no token of the two unrelated identifiers;"
  say "it records one line per request:"
  tail -n 3 "$demo/hub.log" | sed 's/^/    /'
else
  echo "error: a non-matching token appeared in $demo/hub.log (privacy bug)" >&2
  exit 1
fi

# ---------------------------------------------------------------------------
step "10. Talk to the hub yourself"
cat <<EOF
From the repository root (the hub is at $hub):

  export PATH=$build/server:$build/client:\$PATH

  # who am I, and what are my limits?
  curl --cacert $pki/ca.crt --cert $pki/beta.crt --key $pki/beta.key $hub/v1/me

  # tokenise an identifier and look it up
  cairn token --key $demo/consortium.key --kind email jane.doe@gmail.com
  curl --cacert $pki/ca.crt --cert $pki/beta.crt --key $pki/beta.key \\
    -H 'Content-Type: application/json' \\
    -d '{"queries":[{"kind":"email","token":"TOKEN"}]}' $hub/v1/query

  # mirror the stream of other members' bans (beta sees alpha's three)
  curl --cacert $pki/ca.crt --cert $pki/beta.crt --key $pki/beta.key '$hub/v1/feed?limit=100'

  # member administration, as the operator
  export CAIRN_HUB=$hub CAIRNCTL_CERT=$pki/operator.crt CAIRNCTL_KEY=$pki/operator.key CAIRNCTL_CACERT=$pki/ca.crt
  cairnctl member show alpha
  cairnctl member suspend beta --reason testing    # beta's next request gets 403
  cairnctl member resume beta

docs/integration-guide.md shows every endpoint; docs/operator-guide.md runs a real hub.
EOF

# ---------------------------------------------------------------------------
finished=1
if [[ $keep_running -eq 1 ]]; then
  step "The hub keeps running"
  say "cairnd PID $hub_pid, $hub, log $demo/hub.log"
  say "stop it with:  kill -TERM $hub_pid     (or run this demo again)"
else
  step "11. Stop the hub (SIGTERM: finish in-flight requests, close the store)"
  run "kill -TERM $hub_pid"
  hub_status=0
  wait "$hub_pid" || hub_status=$?
  hub_pid=""
  if [[ $hub_status -ne 0 ]]; then
    echo "error: cairnd exited with status $hub_status; see $demo/hub.log" >&2
    exit 1
  fi
  say "cairnd stopped cleanly."
  rm -f "$demo/cairnd.pid"
  say "Run docs/demo.sh --keep-running to leave it up and experiment."
fi
