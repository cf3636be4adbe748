#!/bin/sh
# install-deps.sh - installs the Debian 12 packages csirtd needs to build,
# run and test.  Idempotent: when everything is present it does nothing (and
# never runs apt-get update).  Works as root, uses sudo otherwise, and says
# clearly when it can do neither.
set -eu

PACKAGES="build-essential cmake pkg-config git curl ca-certificates \
openssh-client sqlite3 clang libclang-rt-dev groff-base openssl bsdutils \
libevent-dev libsqlite3-dev libprotobuf-c-dev protobuf-c-compiler \
libgit2-dev check libsodium-dev libssl-dev libjansson-dev zlib1g-dev libdeflate-dev \
libjemalloc-dev \
chromium fonts-ipafont-gothic"
# The web client's browser tests (tools/check-web.sh) use Debian's chromium
# (fonts-ipafont-gothic renders Japanese in their screenshots) and node/npm
# for playwright-core; node and npm are taken as they are when present
# (another distribution's nodejs may bundle npm), else Debian's.
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all $(echo $PACKAGES | wc -w) packages present"
	exit 0
fi

echo "install-deps: missing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: error: need root or sudo to install:$missing" >&2
	echo "install-deps: run as root: apt-get install$missing" >&2
	exit 1
fi

if ! $SUDO apt-get update -q; then
	echo "install-deps: error: 'apt-get update' failed" >&2
	exit 1
fi
# shellcheck disable=SC2086
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
	--no-install-recommends $missing; then
	echo "install-deps: error: could not install:$missing" >&2
	exit 1
fi
echo "install-deps: installed:$missing"
