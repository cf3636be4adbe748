#!/bin/sh
# check-web.sh - the web client's browser tests (tests/web/) in Debian's
# chromium with playwright-core from npm: installs the locked npm packages
# into tests/web/node_modules when missing (`npm ci`; playwright-core
# downloads no browser), then runs `node --test`.  Exits 77 (CTest
# "skipped") only when chromium or node is genuinely absent;
# tools/install-deps.sh installs both.
#
#   check-web.sh CSIRTD ARTIFACT-DIR
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
export CSIRTD_BIN="$1"
export WEB_ARTIFACTS="$2"
: "${CHROMIUM_BIN:=/usr/bin/chromium}"
export CHROMIUM_BIN
if [ ! -x "$CHROMIUM_BIN" ] || ! command -v node >/dev/null 2>&1 ||
	! command -v npm >/dev/null 2>&1; then
	echo "SKIP: the browser tests need $CHROMIUM_BIN, node and npm" \
		"(tools/install-deps.sh installs them)"
	exit 77
fi
cd "$src/tests/web"
if [ ! -f node_modules/playwright-core/package.json ] ||
	[ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p "$WEB_ARTIFACTS"
exec node --test sha256.test.js mirror.test.js web.test.js
