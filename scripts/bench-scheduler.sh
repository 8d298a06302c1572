#!/usr/bin/env bash
# Benchmarks the reminder scheduler on a large database: builds
# cartback-schedbench, writes a new database with one shop and CARTS carts
# of which DUE come due in a window that opens LEAD after populating ends
# and lasts SPREAD, and BURST more all at one instant BURST_GAP after the
# window, then, in a fresh process, opens it with the real scheduler and
# no-op senders and reports start-up time, resident memory, lateness of the
# window's steps and how fast the burst drains (capacity). See BENCHMARKS.md.
#
# Settings (environment):
#   CARTS        carts in the database, due ones included   (default 1000000)
#   DUE          carts whose first step falls due            (default 20000)
#   LEAD         end of populating → start of due window     (default 30s)
#   SPREAD       length of the due window                    (default 10s)
#   BURST        carts all due at once after the window      (default 20000)
#   BURST_GAP    end of the window → the burst               (default 10s)
#   BATCH        carts per write transaction when populating (default 2000)
#   WORKERS      scheduler send workers, 0 = its default     (default 0)
#   MAPPED_MB    database kept mapped, as CARTBACK_DB_MAPPED_MB (default 32; 0 = no cap)
#   CPUPROFILE   write the run's CPU profile to this file
#   GOMAXPROCS   passed through
#   KEEP=1       keep the temporary directory (binary, database)
#
# Exits non-zero if populating or the run failed (not when a target is missed).
set -euo pipefail

CARTS=${CARTS:-1000000}
DUE=${DUE:-20000}
LEAD=${LEAD:-30s}
SPREAD=${SPREAD:-10s}
BURST=${BURST:-20000}
BURST_GAP=${BURST_GAP:-10s}
BATCH=${BATCH:-2000}
WORKERS=${WORKERS:-0}
MAPPED_MB=${MAPPED_MB:-32}

command -v go >/dev/null || { echo "bench-scheduler: go is required" >&2; exit 2; }
cd "$(dirname "$0")/.."

work=$(mktemp -d -t cartback-schedbench.XXXXXX)
cleanup() {
	if [[ ${KEEP:-} == 1 ]]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building"
go build -o "$work/cartback-schedbench" ./cmd/cartback-schedbench

echo "== machine: $(nproc) CPUs, $(go version), GOMAXPROCS=${GOMAXPROCS:-unset}, load average$(uptime | sed 's/.*load average//')"

echo
echo "== populating $work/cartback.db: $CARTS carts, $DUE due $LEAD after, spread over $SPREAD, then $BURST at once $BURST_GAP later"
"$work/cartback-schedbench" populate -db "$work/cartback.db" -carts "$CARTS" -due "$DUE" \
	-lead "$LEAD" -spread "$SPREAD" -burst "$BURST" -burst-gap "$BURST_GAP" -batch "$BATCH"

echo
echo "== running the scheduler (fresh process)"
run_args=(-db "$work/cartback.db" -workers "$WORKERS" -mapped-mb "$MAPPED_MB" -json)
if [[ -n ${CPUPROFILE:-} ]]; then
	run_args+=(-cpuprofile "$CPUPROFILE")
fi
status=0
"$work/cartback-schedbench" run "${run_args[@]}" >"$work/run.out" || status=$?
grep -v '^{' "$work/run.out" || true
grep '^{' "$work/run.out" || true
echo
echo "== database file: $(du -h --apparent-size "$work/cartback.db" | cut -f1) ($(stat -c %s "$work/cartback.db") bytes), load average$(uptime | sed 's/.*load average//')"
exit $status
