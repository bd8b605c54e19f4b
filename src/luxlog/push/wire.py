"""Samples as PostgreSQL's binary COPY wants them, made straight from the stored chunks.

A cache chunk stores each sample as the changes to the one before (``codec.chunk_changes``);
so does this: the three blocks of the previous sample are held in their wire form (big-endian
``int32`` parameters, an ``integer[]`` of calculations, one signed byte per visibility) and
only the changed values are written into them, so a push never builds the ~1,400 Python
integers of a ``Sample`` nor converts them back. Parameters and visibilities almost never
change: their bytes are shared by consecutive rows.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable, Sequence
from typing import NamedTuple

from luxlog.codec import chunk_changes

_SWAP = sys.byteorder == "little"
_I4 = struct.Struct(">i")
_I1 = struct.Struct(">b")
_ARRAY_HEAD = struct.Struct(">iiiii")  # ndim, has-nulls, element type (int4), length, lower bound
_ARRAY_DATA = _ARRAY_HEAD.size + 4  # the first element's value: after the header and its length
_EMPTY_ARRAY = struct.pack(">iii", 0, 0, 23)

# Binary COPY: the signature, flags and header extension, then per row the field count and
# each field as length + bytes; -1 as the field count ends the stream.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_STAGED = struct.Struct(">hiqii")  # 5 fields; slot (8 bytes); stat (4 bytes)
_LEN = struct.Struct(">i")
_FIELDS6 = struct.Struct(">h")
_TIME = struct.Struct(">iqii")  # time (8 bytes, µs since 2000), stat (4 bytes)
_PG_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin


class Row(NamedTuple):
    """One sample's COPY fields: its blocks as the server stores them."""

    slot: int
    stat: int
    parameters: bytes
    calculations: bytes
    visibilities: bytes


def wire_int32(values: Sequence[int]) -> bytes:
    """A block as on the wire: big-endian int32 per value."""
    block = array("i", values)
    if _SWAP:
        block.byteswap()
    return block.tobytes()


def int4_array(values: Sequence[int]) -> bytes:
    """An ``integer[]`` in COPY's binary format: ndim, has-nulls, element type (int4, OID 23),
    length and lower bound, then each element as (4, value), all big-endian."""
    n = len(values)
    if not n:
        return _EMPTY_ARRAY
    body = array("i", [4]) * (2 * n)
    body[1::2] = array("i", values)
    if _SWAP:
        body.byteswap()
    return _ARRAY_HEAD.pack(1, 0, 23, n, 1) + body.tobytes()


def wire_int8(values: Sequence[int]) -> bytes:
    """Visibilities as on the wire: one signed byte per value."""
    return array("b", values).tobytes()


def calculations_of(row: Row) -> tuple[int, ...]:
    """The calculations block back from its ``integer[]`` bytes."""
    body = array("i", row.calculations[_ARRAY_HEAD.size :])
    if _SWAP:
        body.byteswap()
    return tuple(body[1::2])


def chunk_rows(bucket: int, blob: bytes) -> list[Row]:
    """A cache chunk's samples, in slot order, as COPY fields."""
    rows: list[Row] = []
    vec: list[int] = []
    params = calcs = visis = bytearray()
    p = v = b""
    for slot, stat, (n_p, n_c, _), full, changed, deltas in chunk_changes(bucket, blob):
        if full is not None:
            vec = full
            params = bytearray(wire_int32(vec[:n_p]))
            calcs = bytearray(int4_array(vec[n_p : n_p + n_c]))
            visis = bytearray(wire_int8(vec[n_p + n_c :]))
            p, v = bytes(params), bytes(visis)
        else:
            p_changed = v_changed = False
            for i, d in zip(changed, deltas, strict=True):
                value = vec[i] = vec[i] + d
                if i < n_p:
                    _I4.pack_into(params, 4 * i, value)
                    p_changed = True
                elif i < n_p + n_c:
                    _I4.pack_into(calcs, _ARRAY_DATA + 8 * (i - n_p), value)
                else:
                    _I1.pack_into(visis, i - n_p - n_c, value)
                    v_changed = True
            if p_changed:
                p = bytes(params)
            if v_changed:
                v = bytes(visis)
        rows.append(Row(slot, stat, p, bytes(calcs), v))
    return rows


def _fields(rows: Sequence[Row], lead: Callable[[Row], bytes]) -> list[bytes]:
    """Each row as its binary COPY fields: ``lead`` (its first fields), then its blocks."""
    parts: list[bytes] = []
    pack = _LEN.pack
    for r in rows:
        p, c, v = r.parameters, r.calculations, r.visibilities
        parts += [lead(r), pack(len(p)), p, pack(len(c)), c, pack(len(v)), v]
    return parts


def copy_stream(rows: Sequence[Row]) -> bytes:
    """``rows`` as one binary COPY stream for the staging table (slot, stat, blocks)."""
    parts = _fields(rows, lambda r: _STAGED.pack(5, 8, r.slot, 4, r.stat))
    return b"".join([_COPY_HEADER, *parts, _COPY_TRAILER])


def direct_stream(site: str, rows: Sequence[Row]) -> bytes:
    """``rows`` as one binary COPY stream straight into ``samples`` (site and time first; a
    timestamptz travels as microseconds since 2000-01-01 UTC)."""
    name = site.encode()
    head = _FIELDS6.pack(6) + _LEN.pack(len(name)) + name
    time = _TIME.pack

    def lead(r: Row) -> bytes:
        return head + time(8, (r.slot - _PG_EPOCH) * 1_000_000, 4, r.stat)

    return b"".join([_COPY_HEADER, *_fields(rows, lead), _COPY_TRAILER])
