"""Writes a key set in the SOSD binary format: a little-endian u64 count, then that many
little-endian u64 keys, sorted ascending and distinct. Shared by the recipes in this folder."""

import hashlib
import struct
import sys


def write_sosd(path, keys):
    """Sorts and deduplicates `keys` (ints in 0..2^64), writes them to `path`, returns
    (count, sha256 hex)."""
    keys = sorted(set(keys))
    if not keys:
        sys.exit(f"{path}: no keys")
    if keys[0] < 0 or keys[-1] >= 1 << 64:
        sys.exit(f"{path}: a key is outside u64")
    body = struct.pack(f"<Q{len(keys)}Q", len(keys), *keys)
    with open(path, "wb") as f:
        f.write(body)
    return len(keys), hashlib.sha256(body).hexdigest()
