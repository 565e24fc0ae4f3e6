#!/usr/bin/env bash
# Makes sure Debian's Chromium is at ${CHROMIUM_PATH:-/usr/bin/chromium} for the
# browser tests, installing the `chromium` package with apt-get when it is not.
# No browser is ever downloaded from anywhere else.
set -euo pipefail
path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$path" ]; then exit 0; fi
if [ "$path" != /usr/bin/chromium ]; then
  echo "CHROMIUM_PATH=$path is not an executable" >&2
  exit 1
fi
echo "chromium not found; installing it with apt-get" >&2
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
[ -x "$path" ] || { echo "apt-get did not install $path" >&2; exit 1; }
