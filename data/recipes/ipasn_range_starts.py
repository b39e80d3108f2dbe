"""Keys: the first address of every range of the npm package @ip-location-db/asn (IP address
range -> autonomous system), IPv4 and IPv6 in one u64 space: an IPv6 range gives the top 64
bits of its first address; an IPv4 range gives the top 64 bits of its 6to4 address
2002:AABB:CCDD:: (RFC 3056), which places the whole IPv4 space inside 2002::/16 between the
IPv6 allocations. Usage: ipasn_range_starts.py PACKAGE_DIR OUT"""

import csv
import sys

from sosd import write_sosd

SIX_TO_FOUR = 0x2002


def main(pkg, out):
    keys = []
    with open(f"{pkg}/asn-ipv4-num.csv", newline="") as f:
        for row in csv.reader(f):
            v4 = int(row[0])
            keys.append((SIX_TO_FOUR << 48) | (v4 << 16))
    with open(f"{pkg}/asn-ipv6-num.csv", newline="") as f:
        for row in csv.reader(f):
            keys.append(int(row[0]) >> 64)
    raw = len(keys)
    count, digest = write_sosd(out, keys)
    print(f"{out}: {count} keys ({raw} ranges), sha256 {digest}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
