#!/bin/sh
# Rebuilds data/flight_departure_ids_u64 from the npm package vega-datasets; reads its
# Parquet file with the PyPI package pyarrow (installed by pip when missing).
set -eu
VERSION=3.2.1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -c 'import pyarrow' 2>/dev/null || pip install -q pyarrow
(cd "$work" && npm pack --silent "vega-datasets@$VERSION" >/dev/null && tar xzf ./*.tgz)
python3 "$here/flight_departure_ids.py" "$work/package/data/flights-3m.parquet" "$here/../flight_departure_ids_u64"
