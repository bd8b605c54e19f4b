"""Compact, lossless encoding of a run of raw samples (one cache chunk).

A sample is the concatenation of its three blocks (parameters, calculations, visibilities).
Parameters and visibilities are settings that almost never change, and calculations change a
few dozen values per poll by small steps, so a chunk stores its first sample in full and every
later one as the sparse list of (index, delta) against the previous sample. The streams are
kept apart (headers, full vectors, indices, deltas) so zlib sees long runs of similar bytes:
slot steps of 30, the same indices changing each poll, small deltas. A sample whose block
lengths differ from the previous one (a firmware update mid-stream) is stored in full.

Measured on a simulated week of V3.78 data (bench/run.py): see the store's docstring.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Iterator, Sequence

from luxlog.sample import Sample

FORMAT_VERSION = 1
_LITTLE = sys.byteorder == "little"

# Byte layouts, all little-endian. Chunk: version byte, the byte sizes of its four streams,
# then the zlib'd streams (headers, full vectors, indices, deltas).
_CHUNK_SIZES = struct.Struct("<4I")
_CHUNK_BODY = 1 + _CHUNK_SIZES.size
# One entry of the header stream per sample, as int32: slot step, stat, the three block
# lengths, and the number of changed values (-1: stored in full).
_CHUNK_HEADER = 6
# Buffer row, zlib'd: stat and block lengths; parameters and calculations as int32;
# visibilities as int8 (they are 0/1 flags on every known firmware).
_ROW_HEADER = struct.Struct("<4i")
# Buffer delta, zlib'd: stat, block lengths, n changes; n uint32 indices; n int64 deltas.
_DELTA_HEADER = struct.Struct("<5i")


def _bytes(a: array) -> bytes:  # type: ignore[type-arg]
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def _array(typecode: str, data: bytes) -> array:  # type: ignore[type-arg]
    a = array(typecode)
    a.frombytes(data)
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        a.byteswap()
    return a


_STRIDE = 32


def _changed(vec: list[int], prev: list[int]) -> list[int]:
    """Indices where ``vec`` differs from ``prev`` (same length).

    Compares slices first (C speed) and looks at single values only inside the few slices
    that differ: most of a sample is unchanged settings.
    """
    out: list[int] = []
    for j in range(0, len(vec), _STRIDE):
        a = vec[j : j + _STRIDE]
        b = prev[j : j + _STRIDE]
        if a != b:
            out.extend(j + i for i, (c, p) in enumerate(zip(a, b, strict=True)) if c != p)
    return out


def _apply(vec: list[int], indices: Sequence[int], deltas: Sequence[int]) -> list[int]:
    """A copy of ``vec`` with each ``deltas[k]`` added at ``indices[k]``."""
    out = vec.copy()
    for i, d in zip(indices, deltas, strict=True):
        out[i] += d
    return out


def encode_chunk(base_slot: int, rows: Sequence[Sample]) -> bytes:
    """Encode samples (sorted by slot, unique) relative to ``base_slot``."""
    headers = array("q")
    full = array("i")
    indices = array("I")
    deltas = array("q")
    prev: list[int] | None = None
    prev_lengths: tuple[int, int, int] | None = None
    prev_slot = base_slot
    for row in rows:
        vec = row.values()
        lengths = row.lengths
        if prev is None or lengths != prev_lengths:
            headers.extend((row.slot - prev_slot, row.stat, *lengths, -1))
            full.extend(vec)
        else:
            changed = _changed(vec, prev)
            headers.extend((row.slot - prev_slot, row.stat, *lengths, len(changed)))
            indices.extend(changed)
            deltas.extend(vec[i] - prev[i] for i in changed)
        prev, prev_lengths, prev_slot = vec, lengths, row.slot
    # Indices are stored as they are, not delta-encoded: the same few indices change every
    # poll, so the index stream repeats itself and zlib finds the repeats.
    streams = [_bytes(array("i", headers)), _bytes(full), _bytes(indices), _bytes(deltas)]
    sizes = _CHUNK_SIZES.pack(*(len(s) for s in streams))
    return bytes([FORMAT_VERSION]) + sizes + zlib.compress(b"".join(streams), 9)


def _chunk_streams(blob: bytes) -> list[bytes]:
    sizes = _CHUNK_SIZES.unpack_from(blob, 1)
    data = zlib.decompress(blob[_CHUNK_BODY:])
    parts = []
    offset = 0
    for size in sizes:
        parts.append(data[offset : offset + size])
        offset += size
    return parts


# One stored sample: slot, stat, block lengths, and either its full vector (a fresh list) or
# None with the (indices, deltas) of its changes against the previous sample.
Change = tuple[int, int, tuple[int, int, int], list[int] | None, list[int], list[int]]


def chunk_changes(base_slot: int, blob: bytes) -> Iterator[Change]:
    """The samples of a chunk in slot order, as stored: full, or the changes to the one
    before (``luxlog push`` turns those straight into wire bytes, see ``push.wire``)."""
    if not blob or blob[0] != FORMAT_VERSION:
        raise ValueError(f"unknown chunk format {blob[:1]!r}")
    parts = _chunk_streams(blob)
    headers = _array("i", parts[0])
    full = _array("i", parts[1]).tolist()
    indices = _array("I", parts[2]).tolist()
    deltas = _array("q", parts[3]).tolist()
    f = k = 0
    slot = base_slot
    for h in range(0, len(headers), _CHUNK_HEADER):
        dslot, stat, n_p, n_c, n_v, n_changes = headers[h : h + _CHUNK_HEADER]
        slot += dslot
        if n_changes < 0:
            total = n_p + n_c + n_v
            yield slot, stat, (n_p, n_c, n_v), full[f : f + total], [], []
            f += total
        else:
            end = k + n_changes
            yield slot, stat, (n_p, n_c, n_v), None, indices[k:end], deltas[k:end]
            k = end


def decode_chunk(base_slot: int, blob: bytes) -> Iterator[Sample]:
    """Yield the samples of a chunk in slot order."""
    vec: list[int] = []
    for slot, stat, lengths, full, changed, deltas in chunk_changes(base_slot, blob):
        vec = full if full is not None else _apply(vec, changed, deltas)
        yield Sample.from_values(slot, stat, vec, lengths)


# (slot, some calculations); ABSENT where the block does not reach the index.
Row = tuple[int, tuple[int, ...]]
_ABSENT = -(2**31)  # decode.ABSENT; the codec does not import the decoder


def pick_calculations(calculations: Sequence[int], indices: Sequence[int]) -> tuple[int, ...]:
    n = len(calculations)
    return tuple(calculations[i] if i < n else _ABSENT for i in indices)


def decode_chunk_calculations(base_slot: int, blob: bytes, indices: Sequence[int]) -> Iterator[Row]:
    """(slot, the calculations at ``indices``) per sample of a chunk, in slot order.

    Follows only those values through the deltas (a set intersection per sample, no copy of
    the ~1,600-value vector): a week of a chart's eight series decodes several times faster
    than ``decode_chunk``.
    """
    if not blob or blob[0] != FORMAT_VERSION:
        raise ValueError(f"unknown chunk format {blob[:1]!r}")
    parts = _chunk_streams(blob)
    headers = _array("i", parts[0]).tolist()
    full = _array("i", parts[1])
    changed = _array("I", parts[2]).tolist()
    deltas = _array("q", parts[3]).tolist()
    f = k = 0
    slot = base_slot
    values: list[int] = []
    where: dict[int, int] = {}  # vector position -> place in ``values``
    for h in range(0, len(headers), _CHUNK_HEADER):
        dslot, _stat, n_p, n_c, n_v, n_changes = headers[h : h + _CHUNK_HEADER]
        slot += dslot
        if n_changes < 0:
            values = list(pick_calculations(full[f + n_p : f + n_p + n_c], indices))
            where = {n_p + i: j for j, i in enumerate(indices) if i < n_c}
            f += n_p + n_c + n_v
        elif n_changes:
            these = changed[k : k + n_changes]
            for pos in where.keys() & these:  # indices are unique within a sample
                values[where[pos]] += deltas[k + these.index(pos)]
            k += n_changes
        yield slot, tuple(values)


def chunk_slots(base_slot: int, blob: bytes) -> list[int]:
    """Only the slots of a chunk (for coverage and gap checks)."""
    (headers_size,) = struct.unpack_from("<I", blob, 1)
    data = zlib.decompress(blob[_CHUNK_BODY:])
    headers = _array("i", data[:headers_size])
    slots = []
    slot = base_slot
    for h in range(0, len(headers), _CHUNK_HEADER):
        slot += headers[h]
        slots.append(slot)
    return slots


def pack_row(row: Sample) -> bytes:
    """Buffer format of one sample: compressed, because the poll path writes it to disk."""
    header = _ROW_HEADER.pack(row.stat, *row.lengths)
    body = array("i", [*row.parameters, *row.calculations])
    visis = array("b", row.visibilities)
    return zlib.compress(header + _bytes(body) + visis.tobytes(), 6)


def unpack_row(slot: int, blob: bytes) -> Sample:
    data = zlib.decompress(blob)
    stat, n_p, n_c, n_v = _ROW_HEADER.unpack_from(data)
    body_end = _ROW_HEADER.size + 4 * (n_p + n_c)
    body = _array("i", data[_ROW_HEADER.size : body_end])
    visis = array("b")
    visis.frombytes(data[body_end : body_end + n_v])
    return Sample(slot, stat, tuple(body[:n_p]), tuple(body[n_p:]), tuple(visis))


def pack_delta(row: Sample, base: Sample) -> bytes | None:
    """Buffer format of a sample stored against an earlier full sample (its keyframe).

    Only the values that differ from ``base`` are kept: a poll then writes ~100 bytes instead
    of ~800, so the buffer grows by a page far less often (each new page costs three more
    WAL frames). None when the block lengths differ (store the sample in full then).
    """
    if row.lengths != base.lengths:
        return None
    vec = row.values()
    prev = base.values()
    changed = _changed(vec, prev)
    header = _DELTA_HEADER.pack(row.stat, *row.lengths, len(changed))
    deltas = array("q", [vec[i] - prev[i] for i in changed])
    return zlib.compress(header + _bytes(array("I", changed)) + _bytes(deltas), 6)


def unpack_delta(slot: int, blob: bytes, base: Sample) -> Sample:
    data = zlib.decompress(blob)
    stat, n_p, n_c, n_v, n = _DELTA_HEADER.unpack_from(data)
    indices_end = _DELTA_HEADER.size + 4 * n
    indices = _array("I", data[_DELTA_HEADER.size : indices_end])
    deltas = _array("q", data[indices_end : indices_end + 8 * n])
    if sum(base.lengths) != n_p + n_c + n_v:
        raise ValueError(f"delta of slot {slot} does not fit its keyframe {base.slot}")
    return Sample.from_values(slot, stat, _apply(base.values(), indices, deltas), (n_p, n_c, n_v))
