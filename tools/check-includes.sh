#!/bin/sh
# check-includes.sh - each third-party library is included by exactly one
# module (STYLE.md).  Run by CTest; exits non-zero naming any violation.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
status=0
check() {
	pattern=$1
	owner=$2
	found=$(grep -rlE "#[[:space:]]*include[[:space:]]*<$pattern" \
		csirtd clients tools tests --include='*.c' --include='*.h' |
		sort | tr '\n' ' ')
	if [ "$found" != "$owner " ]; then
		echo "FAIL <$pattern> is included by: ${found:-nothing}(expected $owner)"
		status=1
	else
		echo "ok   <$pattern> only in $owner"
	fi
}
check 'git2' csirtd/ledger.c
check 'sqlite3\.h' 'csirtd/index.c csirtd/index_vfs.c'
check 'event2/' 'csirtd/server.c tools/evhttp-bare.c'
check 'sodium\.h' csirtd/crypto.c
check 'openssl/' csirtd/crypto.c
check 'protobuf-c/' csirtd/codec.c
# The codec tests and fuzz targets use jansson as the reference printer
# that codec_to_json() must match byte for byte.
check 'jansson\.h' 'csirtd/codec.c tests/check_codec.c tests/fuzz/fuzz_common.c'
check 'zlib\.h' 'csirtd/ledger.c csirtd/ledger_pack.c'
check 'libdeflate\.h' csirtd/ledger.c
check 'jemalloc/' csirtd/malloc_info.c
exit $status
