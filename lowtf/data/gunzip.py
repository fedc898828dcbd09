"""gunzip with a size cap: a small .gz that inflates to gigabytes is refused as soon as it passes the
size the file should have, before a byte more is held and before any checksum is computed.

``gzip.decompress`` inflates everything first: a 2.9 MB gzip of zeros took 3 GB and a 5.9 GB peak
before ``lowtf data fetch`` could see the MD5 was wrong. Here the output is produced in one bounded
call (``zlib``'s ``max_length``), members one after another as ``gzip`` allows.
"""
from __future__ import annotations

import zlib


class InflatesTooFar(ValueError):
    """A gzip stream decompresses to more than the file it should hold."""


def gunzip(data: bytes, limit: int, what: str) -> bytes:
    """The decompressed bytes of gzip ``data`` (one member or several), at most ``limit`` of them;
    InflatesTooFar past ``limit``, ValueError for a truncated or corrupt stream."""
    out = bytearray()
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as e:
            raise ValueError(f"{what}: corrupt gzip stream ({e})") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise InflatesTooFar(f"{what} decompresses to more than {limit:,} bytes, the size the file should "
                                 "have: it is not that file (refused before reading further)")
        if not inflater.eof:
            raise ValueError(f"{what}: the gzip stream ends early (truncated download?)")
        data = inflater.unused_data
        if not data.strip(b"\0"):      # trailing zero padding is allowed, as gzip allows it
            return bytes(out)
