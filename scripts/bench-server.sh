# Shared by bench-webhooks.sh and bench-restore.sh (sourced, not run): checks
# the tools, makes a temporary directory removed on exit (kept with KEEP=1),
# builds cartback and cartback-load into it and starts cartback on
# 127.0.0.1:$PORT with a new database.
#
# Before sourcing, set NAME (for messages), PORT, ADMIN_TOKEN and, for
# extra server settings, SERVER_ENV (an array of VAR=value).
# After bench_start_server: $work, $BASE and $server_pid are set.

for tool in go curl jq; do
	command -v "$tool" >/dev/null || { echo "$NAME: $tool is required" >&2; exit 2; }
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BASE=http://127.0.0.1:$PORT
work=$(mktemp -d -t "cartback-$NAME.XXXXXX")
server_pid=
cleanup() {
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ ${KEEP:-} == 1 ]]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start_server() {
	echo "== building"
	go build -o "$work/cartback" ./cmd/cartback
	go build -o "$work/cartback-load" ./cmd/cartback-load

	if curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
		echo "$NAME: something already answers on $BASE; set PORT" >&2
		exit 2
	fi

	echo "== starting cartback on $BASE"
	env CARTBACK_ADDR="127.0.0.1:$PORT" CARTBACK_DB="$work/cartback.db" \
		CARTBACK_ADMIN_TOKEN="$ADMIN_TOKEN" CARTBACK_PUBLIC_URL="$BASE" "${SERVER_ENV[@]}" \
		"$work/cartback" >"$work/cartback.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 300); do
		if curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "$NAME: cartback exited:" >&2
			cat "$work/cartback.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	curl -fsS -o /dev/null "$BASE/healthz"
}
