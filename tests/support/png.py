"""Decode a PNG (8-bit RGB or RGBA, as Chromium's screenshots are) into pixels, with zlib only.

The browser tests judge "the chart is drawn" by the colours in a screenshot of the chart
element: a blank canvas has one or two, a chart with lines, bands and axes has many.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel at bit depth 8


def _add(line: bytearray, prev: bytes) -> None:
    """Byte-wise ``line += prev`` mod 256 as one big-integer operation (no carry crosses a
    byte: the low seven bits add without overflow, the top bit is their carry's parity)."""
    n = len(line)
    a, b = int.from_bytes(line), int.from_bytes(prev)
    low, top = int.from_bytes(b"\x7f" * n), int.from_bytes(b"\x80" * n)
    line[:] = (((a & low) + (b & low)) ^ ((a ^ b) & top)).to_bytes(n)


def _unfilter(kind: int, line: bytearray, prev: bytes, bpp: int) -> None:
    """Undo a scan line's PNG filter in place (``prev``: the line above, unfiltered)."""
    n = len(line)
    if kind == 2:  # Up: the usual filter, done in one step
        _add(line, prev)
    elif kind == 1:  # Sub
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 3:  # Average
        for i in range(n):
            line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 0xFF
    elif kind == 4:  # Paeth
        _add_paeth(line, prev, bpp)


def _add_paeth(line: bytearray, prev: bytes, bpp: int) -> None:
    """Paeth, one channel at a time (the left and upper-left bytes carried in locals)."""
    n = len(line)
    for k in range(min(bpp, n)):
        a = line[k] = (line[k] + prev[k]) & 0xFF  # no left neighbour: the one above
        c = prev[k]
        for i in range(k + bpp, n, bpp):
            b = prev[i]
            p = a + b - c
            pa = p - a if p > a else a - p
            pb = p - b if p > b else b - p
            pc = p - c if p > c else c - p
            a = line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            c = b


def rows(png: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, unfiltered scan lines) of an 8-bit RGB/RGBA PNG."""
    if not png.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    pos, idat = len(SIGNATURE), b""
    width = height = bpp = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in CHANNELS or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
            bpp = CHANNELS[colour]
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    out: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, prev, bpp)
        out.append(bytes(line))
        prev = bytes(line)
    return width, height, bpp, out


def distinct_colours(png: bytes, step: int = 1) -> int:
    """How many different pixel values the image holds (every ``step``-th line)."""
    _, _, bpp, lines = rows(png)
    seen: set[tuple[int, ...]] = set()
    for line in lines[::step]:
        seen.update(zip(*(line[k::bpp] for k in range(bpp)), strict=True))
    return len(seen)
