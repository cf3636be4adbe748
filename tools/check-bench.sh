#!/bin/sh
# check-bench.sh - csirt-bench still works end to end: a one-second mixed
# run against a fresh daemon and the bare responder must complete requests
# of every kind without an error, and report the daemon's CPU per request
# by thread (the loop, the writer and the commit thread, by the names
# csirtd gives them), where the writer's time went (its phases, from
# /metrics), the figures of each half second (--interval, with the CPU by
# thread over each) and of the fsync
# probe beside the load (--probe-fsync); and that
# bench-ab.sh alternates two builds and prints their medians.
# Figures are printed, never asserted.
#
#   check-bench.sh CSIRT-BENCH CSIRTD EVHTTP-BARE
set -eu
bench=$1
csirtd=$2
bare=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bench" --csirtd "$csirtd" --bare "$bare" --workload mixed \
	--connections 4 --seconds 1 --warmup 0 --interval 0.5 --probe-fsync \
	--json "$out"
status=0
# need PATTERN WHAT: the JSON must match PATTERN (grep), else WHAT fails.
need() {
	if ! grep -q "$1" "$out"; then
		echo "FAIL: $2 in: $(cat "$out")"
		status=1
	fi
}
for key in all report note get list bare; do
	need "\"$key\":{\"requests\":[1-9][0-9]*,\"errors\":0," \
		"no error-free \"$key\" requests"
done
for thread in total csirtd writer commit; do
	need "\"cpu_us_per_request\":{.*\"$thread\":[0-9]" \
		"no CPU figure for \"$thread\""
done
# Where the writer's time went (csirt_writer_seconds_total): every phase,
# some of it durable writes.
for phase in idle apply gather drain durable commit answer; do
	need "\"writer\":{.*\"ms_per_batch\":{.*\"$phase\":[0-9]" \
		"no writer phase \"$phase\""
done
need '"durable":[0-9]*\.[0-9]*[1-9]' "no time in durable writes"
need '"writer":{.*"slow_batches":[0-9]*,"longest_batch_ms":[0-9]*\.[0-9]*[1-9]' \
	"no slow batch count or longest batch"
for t in 0.5 1.0; do
	need "{\"t\":$t,\"requests\":[1-9][0-9]*,\"errors\":0," \
		"no interval ending at $t s"
	# ... each with the daemon's CPU over it, by thread.
	need "{\"t\":$t,[^}]*,\"cpu_us_per_request\":{\"total\":[0-9][^}]*\"writer\":[0-9]" \
		"no CPU figures for the interval ending at $t s"
done
# --probe-fsync: its writes and fsyncs beside the load, none failed.
need '"fsync_probe":{"probes":[1-9][0-9]*,"errors":0,"p50_ms":[0-9]' \
	"no fsync probe figures"
need '"reconnects":0}' "connections were dropped"
# tools/bench-ab.sh: two pairs of runs of the same daemon give both medians
# and their ratio, the second pair in the other order (B first); bad input
# is refused with a message.
# No --workload: the default (note) stays under the options given.
ab=$(sh "$(dirname "$0")/bench-ab.sh" -n 2 -b "$bench" "$csirtd" "$csirtd" \
	--connections 4 --seconds 1 --warmup 0 --probe-fsync 2>&1) || {
	echo "FAIL: bench-ab.sh failed: $ab"
	status=1
}
for want in "median A: [1-9][0-9]* req/s" "median B: [1-9][0-9]* req/s" \
	"ratio B/A: [0-9.]* of the throughput" "durable=[0-9]" \
	"probe_p99=[0-9.]* probe_max=[0-9.]*" \
	"csirt-bench --csirtd A|B --workload note --seconds 6 --connections 4 --seconds 1 --warmup 0 --probe-fsync"; do
	echo "$ab" | grep -q "$want" || {
		echo "FAIL: bench-ab.sh printed no \"$want\": $ab"
		status=1
	}
done
order=$(echo "$ab" | awk '/^[AB] +[0-9]+ req\/s/ { printf "%s", $1 }')
[ "$order" = ABBA ] || {
	echo "FAIL: bench-ab.sh ran its pairs in the order \"$order\", not ABBA: $ab"
	status=1
}
if sh "$(dirname "$0")/bench-ab.sh" -n x "$csirtd" "$csirtd" >"$out" 2>&1 ||
	! grep -q "wants a number of pairs" "$out"; then
	echo "FAIL: bench-ab.sh took -n x: $(cat "$out")"
	status=1
fi
[ $status -eq 0 ] && echo "ok   csirt-bench ran every kind of request"
exit $status
