#!/bin/sh
# Rebuilds every key file of data/ from its package; compare the printed sha256 sums with
# data/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for recipe in ipasn_range_starts polish_word_prefixes flight_departure_ids; do
    sh "$here/$recipe.sh"
done
