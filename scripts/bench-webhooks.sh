#!/usr/bin/env bash
# Benchmarks webhook intake: builds cartback and cartback-load, starts
# cartback on loopback with a fresh database, drives the no-op endpoint and
# then signed Shopify checkouts/create webhooks at it, checks that every
# acknowledged webhook was stored, and prints both results and the ratio of
# the two rates. See BENCHMARKS.md.
#
# Settings (environment):
#   CONCURRENCY  requests in flight            (default 64)
#   DURATION     timed phase of each run        (default 10s)
#   WARMUP       untimed load before each run   (default 1s)
#   SIZE         approximate body bytes         (default 7168)
#   PORT         loopback port for cartback     (default 18080)
#   GOMAXPROCS   passed through to cartback and the load generator alike
#   KEEP=1       keep the temporary directory (binaries, database, logs)
#
# Needs go, curl and jq. Exits non-zero if a request failed or fewer carts
# were stored than webhooks acknowledged.
set -euo pipefail

CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-1s}
SIZE=${SIZE:-7168}
PORT=${PORT:-18080}
SHOP=bench.myshopify.com
SECRET=bench-webhook-secret-0123456789
ADMIN_TOKEN=bench-admin-token-0123456789abcdef
NAME=bench-webhooks
SERVER_ENV=()
# shellcheck source=scripts/bench-server.sh
source "$(dirname "$0")/bench-server.sh"

bench_start_server

echo "== machine: $(nproc) CPUs, $(go version), GOMAXPROCS=${GOMAXPROCS:-unset}"

status=0
load() { # load TARGET: runs the load generator, its JSON line goes to $work/TARGET.json
	local target=$1
	echo
	echo "== $target: concurrency $CONCURRENCY, $DURATION (+$WARMUP warm-up), ~$SIZE-byte bodies"
	"$work/cartback-load" -url "$BASE" -target "$target" -concurrency "$CONCURRENCY" \
		-duration "$DURATION" -warmup "$WARMUP" -size "$SIZE" -shop "$SHOP" \
		-secret "$SECRET" -admin-token "$ADMIN_TOKEN" -json >"$work/$target.out" || status=1
	grep -v '^{' "$work/$target.out" || true
	grep '^{' "$work/$target.out" >"$work/$target.json" || { echo "bench-webhooks: no result from $target" >&2; exit 1; }
}
load noop
load shopify

# Every 200 means the cart was committed, so the database must hold at least
# as many carts as the timed phase saw 200s (the warm-up adds more).
echo
echo "== verifying stored carts"
acked=$(jq -r '.statuses["200"] // 0' "$work/shopify.json")
stored=0
next="/admin/api/shops/$SHOP/carts?limit=200"
while [[ -n $next ]]; do
	page=$(curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" "$BASE$next")
	stored=$((stored + $(jq '.carts | length' <<<"$page")))
	next=$(jq -r '.next // empty' <<<"$page")
done
echo "acknowledged (timed phase): $acked"
echo "stored carts (all phases):  $stored"
if ((stored < acked)); then
	echo "FAIL: fewer carts stored than webhooks acknowledged" >&2
	status=1
fi

echo
echo "== summary"
jq -r -s '
	(.[0]) as $noop | (.[1]) as $wh |
	"noop     \($noop.rate | round) req/s  p50 \($noop.p50_ms) ms  p99 \($noop.p99_ms) ms  p99.9 \($noop.p999_ms) ms  failed \($noop.failed)\(if $noop.wire then "  (p99 at the wire \($noop.wire.p99_ms) ms)" else "" end)",
	"shopify  \($wh.ok_rate | round) stored/s  p50 \($wh.p50_ms) ms  p99 \($wh.p99_ms) ms  p99.9 \($wh.p999_ms) ms  failed \($wh.failed)\(if $wh.wire then "  (p99 at the wire \($wh.wire.p99_ms) ms)" else "" end)",
	"ratio    webhook/noop = \(if $noop.rate > 0 then ($wh.ok_rate / $noop.rate * 1000 | round / 10) else "n/a" end) %",
	"targets  >= 5000 stored/s: \(if $wh.ok_rate >= 5000 then "met" else "MISSED" end);  p99 <= 25 ms: \(if $wh.p99_ms <= 25 then "met" else "MISSED" end);  >= 35 % of noop: \(if $noop.rate > 0 and $wh.ok_rate / $noop.rate >= 0.35 then "met" else "MISSED" end)"
' "$work/noop.json" "$work/shopify.json"
exit $status
