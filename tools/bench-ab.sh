#!/bin/sh
# bench-ab.sh - compares two csirtd builds the way this machine allows:
# csirt-bench runs of A and B alternated back to back (the machine's speed
# drifts by 15-20 % from one quarter-hour to the next, so only runs taken
# side by side compare), then the medians of each and B's ratio to A.
# The pairs alternate their order, AB BA AB BA ...: the second run of a
# pair is slower (the same binary as A and B, four pairs of 20 s at 256
# connections: 0.962, B below A in all four; the run before left
# gigabytes of deleted files behind it), and while every pair ran A first
# that bias counted against B.  Use an even number of pairs.
#
#   tools/bench-ab.sh [-n PAIRS] [-b CSIRT-BENCH] CSIRTD-A CSIRTD-B [csirt-bench options]
#
#   -n PAIRS        pairs to run (default 4)
#   -b CSIRT-BENCH  the client (default build-rel/tools/csirt-bench)
#
# Every other option goes to csirt-bench after `--workload note --seconds 6`,
# which it overrides (csirt-bench takes an option's last value), e.g.
# `--cases 1024`, `--connections 256` or `--workload get`.  Prints one line
# a run (req/s, p99, CPU a request, the writer's ms a batch by phase, and
# with --probe-fsync the probe's p99 and maximum: a run whose device stalled
# shows there), then the medians and the ratios.  Copy a build aside before rebuilding it:
# each run starts the binary anew.
set -eu

usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

top=$(cd "$(dirname "$0")/.." && pwd)
pairs=4
bench=$top/build-rel/tools/csirt-bench
while [ $# -gt 0 ]; do
	case $1 in
	-n)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		pairs=$2
		shift 2
		;;
	-b)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		bench=$2
		shift 2
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) break ;;
	esac
done
if [ $# -lt 2 ]; then
	usage >&2
	exit 2
fi
case $pairs in
'' | *[!0-9]* | 0)
	echo "bench-ab: -n wants a number of pairs above 0, not \"$pairs\"" >&2
	exit 2
	;;
esac
a=$1
b=$2
shift 2
for f in "$a" "$b" "$bench"; do
	[ -x "$f" ] || { echo "bench-ab: $f is not an executable" >&2; exit 2; }
done
# The defaults first, so that `--connections 256` alone still runs notes
# for 6 s (they were dropped once any option was given, and such a run
# measured the mixed workload for 10 s).
set -- --workload note --seconds 6 "$@"
echo "bench-ab: $pairs pairs of csirt-bench --csirtd A|B $*"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# run LABEL BIN [csirt-bench options]: one csirt-bench run; appends
# "LABEL rps p99 cpu phases..." to $out/runs and prints it.
run() {
	who=$1
	bin=$2
	shift 2
	"$bench" --csirtd "$bin" "$@" >"$out/last" 2>&1 || {
		echo "bench-ab: csirt-bench failed on $bin:" >&2
		cat "$out/last" >&2
		exit 1
	}
	line=$(awk -v who="$who" '
		/^  all / { rps = $2; p99 = $9 }
		/^  CPU / { cpu = $2 }
		/^  writer .*ms a batch: / {
			sub(/.*ms a batch: /, "")
			gsub(/,/, "")
			for (i = 1; i < NF; i += 2) ph = ph " " $i "=" $(i + 1)
		}
		/^  fsync / { probe = " probe_p99=" $9 " probe_max=" $11 }
		END {
			if (rps == "") exit 1
			ph = ph probe
			printf "%s %s %s %s%s\n", who, rps, p99, (cpu == "" ? "-" : cpu), ph
		}' "$out/last") || {
		echo "bench-ab: no figures from csirt-bench on $bin:" >&2
		cat "$out/last" >&2
		exit 1
	}
	echo "$line" >>"$out/runs"
	echo "$line" | awk '{ printf "%-2s %8s req/s  p99 %6s ms  CPU %4s us/request ", $1, $2, $3, $4
		for (i = 5; i <= NF; i++) printf " %s", $i; printf "\n" }'
}

i=1
while [ "$i" -le "$pairs" ]; do
	if [ $((i % 2)) -eq 1 ]; then
		run A "$a" "$@"
		run B "$b" "$@"
	else
		run B "$b" "$@"
		run A "$a" "$@"
	fi
	i=$((i + 1))
done

# Medians of each column for A and B, and B/A.
awk '
function median(v, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
	w = $1; n[w]++
	rps[w, n[w]] = $2; p99[w, n[w]] = $3; cpu[w, n[w]] = $4
}
END {
	for (k = 1; k <= 2; k++) {
		w = k == 1 ? "A" : "B"
		for (i = 1; i <= n[w]; i++) { x[i] = rps[w, i]; y[i] = p99[w, i]; z[i] = cpu[w, i] }
		m_rps[w] = median(x, n[w]); m_p99[w] = median(y, n[w])
		m_cpu[w] = z[1] == "-" ? "-" : median(z, n[w])
		printf "median %s: %.0f req/s  p99 %.2f ms  CPU %s us/request (%d runs)\n",
		    w, m_rps[w], m_p99[w], m_cpu[w], n[w]
	}
	printf "ratio B/A: %.3f of the throughput, %.3f of the p99", \
	    m_rps["B"] / m_rps["A"], m_p99["B"] / m_p99["A"]
	if (m_cpu["A"] != "-" && m_cpu["B"] != "-")
		printf ", %.3f of the CPU a request", m_cpu["B"] / m_cpu["A"]
	printf "\n"
}' "$out/runs"
