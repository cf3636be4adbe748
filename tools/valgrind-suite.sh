#!/bin/sh
# valgrind-suite.sh - the integration suites with every daemon they start
# running under valgrind's memcheck (errors and definite leaks make the
# daemon exit 99, which the suites' clean-stop checks turn into failures).
# Builds build-vg (Debug, no sanitizers: valgrind and ASan do not mix).
#
#   tools/valgrind-suite.sh [suite ...]    default: daemon api authz cli gitweb
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
command -v valgrind >/dev/null || { echo "valgrind-suite: no valgrind (apt install valgrind)" >&2; exit 1; }
cmake -S . -B build-vg -DCMAKE_BUILD_TYPE=Debug -DCSIRTD_MALLOC=system >/dev/null
cmake --build build-vg -j "$(nproc)" --target check_runner csirtd csirt csirt-audit >/dev/null
suites=${*:-daemon api authz cli gitweb}
export CSIRT_TEST_DAEMON_WRAPPER="valgrind --quiet --error-exitcode=99 \
--leak-check=full --errors-for-leak-kinds=definite --track-fds=no \
--log-file=$top/build-vg/valgrind-%p.log"
rm -f build-vg/valgrind-*.log
status=0
for s in $suites; do
	build-vg/tests/check_runner "$s" || status=1
done
# Every daemon's report: empty unless valgrind found something.
for f in build-vg/valgrind-*.log; do
	[ -s "$f" ] || continue
	echo "valgrind-suite: $f:" >&2
	cat "$f" >&2
	status=1
done
[ $status -eq 0 ] && echo "valgrind-suite: clean ($suites)"
exit $status
