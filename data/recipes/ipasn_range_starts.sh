#!/bin/sh
# Rebuilds data/ipasn_range_starts_u64 from the npm package @ip-location-db/asn.
set -eu
VERSION=2.3.2026061719
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@ip-location-db/asn@$VERSION" >/dev/null && tar xzf ./*.tgz)
python3 "$here/ipasn_range_starts.py" "$work/package" "$here/../ipasn_range_starts_u64"
