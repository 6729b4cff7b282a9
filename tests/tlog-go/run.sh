#!/usr/bin/env bash
# Loads the demo into a fresh data folder, serves it, and checks its ledger with Go's own
# golang.org/x/mod/sumdb/{note,tlog} (Debian's golang-go and golang-golang-x-mod-dev, GOPATH
# mode, offline). Usage: tests/tlog-go/run.sh path/to/xiaowei
set -euo pipefail
bin="$1"
here="$(cd "$(dirname "$0")" && pwd)"
data="$(mktemp -d)"
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$data"' EXIT
env -u DATABASE_URL -u XIAOWEI_DATABASE_URL XIAOWEI_LOG=warn "$bin" demo --load-only --data-dir "$data" >/dev/null 2>&1
vkey="$(env -u DATABASE_URL -u XIAOWEI_DATABASE_URL XIAOWEI_LOG=warn "$bin" ledger checkpoint --data-dir "$data" 2>&1 >/dev/null | sed -n 's/^公钥：//p')"
env -u DATABASE_URL -u XIAOWEI_DATABASE_URL XIAOWEI_LOG=warn "$bin" serve --listen 127.0.0.1:0 --data-dir "$data" >"$data/out" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q 'http://127' "$data/out" 2>/dev/null && break; sleep 0.2; done
url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$data/out" | head -n1)"
[ -n "$url" ] || { cat "$data/out" >&2; exit 1; }
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$data/gocache" GOFLAGS= go run "$here/verify.go" "$url" "$vkey"
