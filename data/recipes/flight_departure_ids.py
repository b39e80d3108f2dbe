"""Keys: Snowflake-style time-ordered ids of the 3,000,000 US domestic flights (January to
June 2001) in data/flights-3m.parquet of the npm package vega-datasets: the scheduled
departure time in Unix milliseconds, shifted left by 12 bits, plus the flight's rank among
the flights of that same departure minute in file order (0..102). Times are the naive
timestamps of the file, read as UTC. Usage: flight_departure_ids.py PARQUET OUT"""

import calendar
import sys

import pyarrow.parquet as pq

from sosd import write_sosd

SEQUENCE_BITS = 12


def main(parquet, out):
    dates = pq.read_table(parquet, columns=["date"]).column("date").to_pylist()
    keys = []
    prev = None
    rank = 0
    for d in dates:
        rank = rank + 1 if d == prev else 0
        prev = d
        if rank >= 1 << SEQUENCE_BITS:
            sys.exit("more flights in one minute than the sequence bits hold")
        ms = calendar.timegm(d.timetuple()) * 1000 + d.microsecond // 1000
        keys.append((ms << SEQUENCE_BITS) | rank)
    raw = len(keys)
    count, digest = write_sosd(out, keys)
    print(f"{out}: {count} keys ({raw} flights), sha256 {digest}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
