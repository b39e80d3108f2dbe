#!/bin/sh
# Rebuilds data/polish_word_prefixes_u64 from the Debian package wpolish (downloaded, not
# installed). Needs apt-get's package lists (run apt-get update once).
set -eu
VERSION=20220301-1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "wpolish=$VERSION" >/dev/null 2>&1 && dpkg-deb -x wpolish_*.deb root)
python3 "$here/polish_word_prefixes.py" "$work/root/usr/share/dict/polish" "$here/../polish_word_prefixes_u64"
