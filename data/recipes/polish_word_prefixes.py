"""Keys: the first 8 bytes of every word of /usr/share/dict/polish (Debian package wpolish),
UTF-8, read as a big-endian u64 with shorter words padded by zero bytes, so the keys sort as
the words do. Words sharing their first 8 bytes give one key. Usage:
polish_word_prefixes.py WORD_LIST OUT"""

import sys

from sosd import write_sosd


def main(words, out):
    keys = []
    with open(words, "rb") as f:
        for line in f:
            word = line.rstrip(b"\n")
            if word:
                keys.append(int.from_bytes(word[:8].ljust(8, b"\0"), "big"))
    raw = len(keys)
    count, digest = write_sosd(out, keys)
    print(f"{out}: {count} keys ({raw} words), sha256 {digest}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
