"""tests/support/png.py, the browser tests' screenshot decoder: every PNG filter type round-trips.

The images are encoded here with each of the five scan-line filters (PNG spec, section 9), so
the decoder's fast paths (Up as one big-integer add, Paeth channel by channel) are checked
against the spec's plain definitions, not against themselves.
"""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from support.png import distinct_colours, rows


def _predict(kind: int, a: int, b: int, c: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return a
    if kind == 2:
        return b
    if kind == 3:
        return (a + b) // 2
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def encode(lines: list[bytes], width: int, bpp: int, kinds: list[int]) -> bytes:
    """An 8-bit RGB (bpp 3) or RGBA (bpp 4) PNG whose line y uses filter ``kinds[y]``."""
    raw = bytearray()
    prev = bytes(len(lines[0]))
    for line, kind in zip(lines, kinds, strict=True):
        raw.append(kind)
        for i, x in enumerate(line):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            raw.append((x - _predict(kind, a, prev[i], c)) & 0xFF)
        prev = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, len(lines), 8, {3: 2, 4: 6}[bpp], 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("bpp", [3, 4])
def test_every_filter_type_decodes_to_the_pixels_encoded(bpp: int) -> None:
    rnd = random.Random(bpp)
    width, height = 7, 15
    lines = [bytes(rnd.randrange(256) for _ in range(width * bpp)) for _ in range(height)]
    kinds = [y % 5 for y in range(height)]  # each filter after each other one
    assert rows(encode(lines, width, bpp, kinds)) == (width, height, bpp, lines)


def test_distinct_colours_counts_pixels_not_bytes() -> None:
    two = [bytes([1, 2, 3, 1, 2, 3, 3, 2, 1]), bytes([3, 2, 1, 3, 2, 1, 1, 2, 3])]
    assert distinct_colours(encode(two, 3, 3, [1, 4])) == 2
    assert distinct_colours(encode([bytes(9)] * 2, 3, 3, [0, 2])) == 1
    with pytest.raises(ValueError, match="not a PNG"):
        rows(b"GIF89a")
