#!/usr/bin/env bash
# Benchmarks the restore redirect: builds cartback and cartback-load,
# starts cartback on loopback with a fresh database, creates a Shopify shop
# with a one-step sequence (abandoned after 1 s, email after 2 s), sends one
# signed checkouts/create webhook, waits for the reminder in the outbox and
# takes its restore link. It then loads GET /noop and GET /r/{token} in
# turn, each as fast as CONCURRENCY requests in flight allow, then
# GET /r/{token} again at a fixed rate of PACE % of the no-op endpoint's
# (the rate the first target asks for) to measure latency at that load.
# It prints the results and the ratio of the two rates, and checks that
# the 303s were recorded as clicks of the cart. See BENCHMARKS.md.
#
# Settings (environment):
#   CONCURRENCY  requests in flight            (default 64)
#   PACE         fixed-rate phase, % of no-op   (default 60)
#   DURATION     timed phase of each run        (default 10s)
#   WARMUP       untimed load before each run   (default 1s)
#   PORT         loopback port for cartback     (default 18090)
#   GOMAXPROCS   passed through to cartback and the load generator alike
#   KEEP=1       keep the temporary directory (binaries, database, logs)
#
# Needs go, curl and jq. Exits non-zero if a request failed, no reminder
# appeared, or fewer clicks were recorded than redirects answered.
set -euo pipefail

CONCURRENCY=${CONCURRENCY:-64}
PACE=${PACE:-60}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-1s}
PORT=${PORT:-18090}
SHOP=bench.myshopify.com
SECRET=bench-webhook-secret-0123456789
ADMIN_TOKEN=bench-admin-token-0123456789abcdef
NAME=bench-restore
SERVER_ENV=(CARTBACK_LOG_LEVEL=warn)
# shellcheck source=scripts/bench-server.sh
source "$(dirname "$0")/bench-server.sh"

admin() { # admin METHOD PATH [BODY]
	local args=(-fsS -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN")
	if [[ $# -ge 3 ]]; then
		args+=(-H 'Content-Type: application/json' --data "$3")
	fi
	curl "${args[@]}" "$BASE$2"
}

bench_start_server

echo "== machine: $(nproc) CPUs, $(go version), GOMAXPROCS=${GOMAXPROCS:-unset}, load average$(uptime | sed 's/.*load average//')"

echo "== shop, sequence and one abandoned checkout"
admin POST /admin/api/shops "{\"platform\":\"shopify\",\"domain\":\"$SHOP\",\"webhook_secret\":\"$SECRET\"}" >/dev/null
admin PUT "/admin/api/shops/$SHOP/sequence" \
	'{"abandon_after":"1s","steps":[{"channel":"email","after":"2s","template":"reminder"}]}' >/dev/null
"$work/cartback-load" -url "$BASE" -target shopify -n 1 -warmup 0 -concurrency 1 \
	-shop "$SHOP" -secret "$SECRET" >"$work/webhook.out" || { cat "$work/webhook.out" >&2; exit 1; }

restore_url=
for _ in $(seq 1 100); do
	restore_url=$(admin GET "/admin/api/shops/$SHOP/outbox" | jq -r '.messages[0].restore_url // empty')
	[[ -n $restore_url ]] && break
	sleep 0.1
done
if [[ -z $restore_url ]]; then
	echo "bench-restore: no reminder reached the outbox within 10s" >&2
	exit 1
fi
cart_id=$(admin GET "/admin/api/shops/$SHOP/outbox" | jq -r '.messages[0].cart_id')
# The link's host is CARTBACK_PUBLIC_URL; the path is requested locally.
restore_path=/${restore_url#*://*/}
echo "restore link: $restore_url (cart $cart_id)"
code=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$BASE$restore_path")
echo "one visit:    $code"

status=0
load() { # load NAME PATH [FLAG...]: its JSON line goes to $work/NAME.json
	local name=$1 path=$2
	shift 2
	echo
	echo "== GET $path: concurrency $CONCURRENCY, $DURATION (+$WARMUP warm-up) $*"
	"$work/cartback-load" -url "$BASE" -target get -path "$path" -concurrency "$CONCURRENCY" \
		-duration "$DURATION" -warmup "$WARMUP" -json "$@" >"$work/$name.out" || status=1
	grep -v '^{' "$work/$name.out" || true
	grep '^{' "$work/$name.out" >"$work/$name.json" || { echo "bench-restore: no result from $name" >&2; exit 1; }
}
load noop /noop
load restore "$restore_path"
paced_rate=$(jq -r --argjson pace "$PACE" '.rate * $pace / 100 | floor' "$work/noop.json")
load paced "$restore_path" -rate "$paced_rate"

# Every 303 was answered after its click was committed, so the cart must
# hold at least as many clicks as the timed phase saw 303s (the warm-up
# and the single visit above add more).
echo
echo "== verifying clicks"
redirects=$(jq -s -r 'map(.statuses["303"] // 0) | add' "$work/restore.json" "$work/paced.json")
clicks=$(admin GET "/admin/api/shops/$SHOP/carts/$cart_id" | jq '.clicks | length')
echo "303s (timed phases):    $redirects"
echo "clicks stored (all):    $clicks"
if ((redirects == 0 || clicks < redirects)); then
	echo "FAIL: fewer clicks stored than redirects answered" >&2
	status=1
fi

echo
echo "== summary (load average$(uptime | sed 's/.*load average//'))"
jq -r -s '
	(.[0]) as $noop | (.[1]) as $r | (.[2]) as $p |
	"noop     \($noop.rate | round) req/s  p50 \($noop.p50_ms) ms  p99 \($noop.p99_ms) ms  p99.9 \($noop.p999_ms) ms  failed \($noop.failed)\(if $noop.wire then "  (p99 at the wire \($noop.wire.p99_ms) ms)" else "" end)",
	"restore  \($r.ok_rate | round) redirects/s  p50 \($r.p50_ms) ms  p99 \($r.p99_ms) ms  p99.9 \($r.p999_ms) ms  failed \($r.failed)\(if $r.wire then "  (p99 at the wire \($r.wire.p99_ms) ms)" else "" end)",
	"paced    \($p.ok_rate | round) redirects/s of \($p.offered_rate | round) offered  p50 \($p.p50_ms) ms  p99 \($p.p99_ms) ms  p99.9 \($p.p999_ms) ms  failed \($p.failed)\(if $p.wire then "  (p99 at the wire \($p.wire.p99_ms) ms)" else "" end)",
	"ratio    restore/noop = \(if $noop.rate > 0 then ($r.ok_rate / $noop.rate * 1000 | round / 10) else "n/a" end) %",
	"targets  >= 60 % of noop: \(if $noop.rate > 0 and $r.ok_rate / $noop.rate >= 0.6 then "met" else "MISSED" end);  p99 <= 5 ms at \($p.offered_rate | round) redirects/s: \(if $p.p99_ms <= 5 and $p.ok_rate >= $p.offered_rate * 0.99 then "met" else "MISSED" end);  p99 at full load (\($r.concurrency) in flight): \($r.p99_ms) ms"
' "$work/noop.json" "$work/restore.json" "$work/paced.json"
exit $status
