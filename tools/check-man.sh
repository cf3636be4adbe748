#!/bin/sh
# check-man.sh - renders every man page with all warnings on; any warning
# fails (run by CTest).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for page in "$top"/csirtd/*.8 "$top"/clients/csirt/*.1; do
	[ -e "$page" ] || continue
	out=$(groff -k -man -ww -z -Tutf8 "$page" 2>&1) || status=1
	if [ -n "$out" ]; then
		echo "FAIL $page"
		echo "$out"
		status=1
	else
		echo "ok   $page"
	fi
done
exit $status
