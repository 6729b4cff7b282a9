#!/usr/bin/env bash
# Loads the demo into a fresh data folder, runs a witness (`xiaowei witness serve`) for its
# ledger, serves it with that witness configured, waits for the witness's cosignature, and checks
# the ledger and the cosignature with Go's own golang.org/x/mod/sumdb/{note,tlog} and
# crypto/ed25519 (Debian's golang-go and golang-golang-x-mod-dev, GOPATH mode, offline).
# Usage: tests/tlog-go/run.sh path/to/xiaowei
set -euo pipefail
bin="$1"
here="$(cd "$(dirname "$0")" && pwd)"
data="$(mktemp -d)"
trap 'kill "${server:-}" "${witness:-}" 2>/dev/null || true; rm -rf "$data"' EXIT
env -u DATABASE_URL -u XIAOWEI_DATABASE_URL XIAOWEI_LOG=warn "$bin" demo --load-only --data-dir "$data" >/dev/null 2>&1
vkey="$(env -u DATABASE_URL -u XIAOWEI_DATABASE_URL XIAOWEI_LOG=warn "$bin" ledger checkpoint --data-dir "$data" 2>&1 >/dev/null | sed -n 's/^公钥：//p')"
wkey="$(XIAOWEI_LOG=warn "$bin" witness key --data-dir "$data/witness" --name witness.example/w1 2>/dev/null)"
XIAOWEI_LOG=warn "$bin" witness serve --data-dir "$data/witness" --listen 127.0.0.1:0 --log "$vkey" >"$data/wout" 2>&1 &
witness=$!
for _ in $(seq 100); do grep -q 'http://127' "$data/wout" 2>/dev/null && break; sleep 0.2; done
wurl="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$data/wout" | head -n1)"
[ -n "$wurl" ] || { cat "$data/wout" >&2; exit 1; }
printf '[[witnesses]]\nname = "见证方一"\nurl = "%s"\nvkey = "%s"\n' "$wurl" "$wkey" >"$data/xiaowei.toml"
env -u DATABASE_URL -u XIAOWEI_DATABASE_URL XIAOWEI_LOG=warn "$bin" serve --config "$data/xiaowei.toml" --listen 127.0.0.1:0 --data-dir "$data" >"$data/out" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q 'http://127' "$data/out" 2>/dev/null && break; sleep 0.2; done
url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$data/out" | head -n1)"
[ -n "$url" ] || { cat "$data/out" >&2; exit 1; }
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$data/gocache" GOFLAGS= go run "$here/verify.go" "$url" "$vkey" "$wkey"
