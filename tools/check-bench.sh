#!/bin/sh
# check-bench.sh - csirt-bench still works end to end: a one-second mixed
# run against a fresh daemon and the bare responder must complete requests
# of every kind without an error, and report the daemon's CPU per request
# by thread (the loop, the writer and the commit thread, by the names
# csirtd gives them), where the writer's time went (its phases, from
# /metrics), and the figures of each half second (--interval).
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
	--connections 4 --seconds 1 --warmup 0 --interval 0.5 --json "$out"
status=0
for key in all report note get list bare; do
	if ! grep -q "\"$key\":{\"requests\":[1-9][0-9]*,\"errors\":0," "$out"; then
		echo "FAIL: no error-free \"$key\" requests in: $(cat "$out")"
		status=1
	fi
done
for thread in total csirtd writer commit; do
	if ! grep -q "\"cpu_us_per_request\":{.*\"$thread\":[0-9]" "$out"; then
		echo "FAIL: no CPU figure for \"$thread\" in: $(cat "$out")"
		status=1
	fi
done
# Where the writer's time went (csirt_writer_seconds_total): every phase,
# some of it durable writes.
for phase in idle apply gather drain durable commit answer; do
	if ! grep -q "\"writer\":{.*\"ms_per_batch\":{.*\"$phase\":[0-9]" "$out"; then
		echo "FAIL: no writer phase \"$phase\" in: $(cat "$out")"
		status=1
	fi
done
grep -q '"durable":[0-9]*\.[0-9]*[1-9]' "$out" || {
	echo "FAIL: no time in durable writes: $(cat "$out")"
	status=1
}
for t in 0.5 1.0; do
	if ! grep -q "{\"t\":$t,\"requests\":[1-9][0-9]*,\"errors\":0," "$out"; then
		echo "FAIL: no interval ending at $t s in: $(cat "$out")"
		status=1
	fi
done
grep -q '"reconnects":0}' "$out" || {
	echo "FAIL: connections were dropped: $(cat "$out")"
	status=1
}
[ $status -eq 0 ] && echo "ok   csirt-bench ran every kind of request"
exit $status
