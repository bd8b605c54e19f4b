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

import sys
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

FORMAT_VERSION = 1
_HEADER = 6  # slot delta, stat, n params, n calcs, n visibilities, n changes (-1 = full)
_LITTLE = sys.byteorder == "little"


@dataclass(frozen=True)
class Row:
    """One raw sample as stored: slot (UTC epoch seconds) and the three blocks."""

    slot: int
    stat: int
    parameters: tuple[int, ...]
    calculations: tuple[int, ...]
    visibilities: tuple[int, ...]


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


def encode_chunk(base_slot: int, rows: Sequence[Row]) -> bytes:
    """Encode rows (sorted by slot, unique) relative to ``base_slot``."""
    headers = array("q")
    full = array("i")
    indices = array("I")
    deltas = array("q")
    prev: list[int] | None = None
    prev_lengths: tuple[int, int, int] | None = None
    prev_slot = base_slot
    for row in rows:
        vec = [*row.parameters, *row.calculations, *row.visibilities]
        lengths = (len(row.parameters), len(row.calculations), len(row.visibilities))
        if prev is None or lengths != prev_lengths:
            headers.extend((row.slot - prev_slot, row.stat, *lengths, -1))
            full.extend(vec)
        else:
            changed = _changed(vec, prev)
            headers.extend((row.slot - prev_slot, row.stat, *lengths, len(changed)))
            indices.extend(changed)
            deltas.extend(vec[i] - prev[i] for i in changed)
        prev, prev_lengths, prev_slot = vec, lengths, row.slot
    # Delta-of-index makes the repeating "same indices change every poll" pattern compress.
    streams = [_bytes(array("i", headers)), _bytes(full), _bytes(indices), _bytes(deltas)]
    sizes = array("I", [len(s) for s in streams])
    return bytes([FORMAT_VERSION]) + _bytes(sizes) + zlib.compress(b"".join(streams), 9)


def decode_chunk(base_slot: int, blob: bytes) -> Iterator[Row]:
    """Yield the rows of a chunk in slot order."""
    if not blob or blob[0] != FORMAT_VERSION:
        raise ValueError(f"unknown chunk format {blob[:1]!r}")
    sizes = _array("I", blob[1:17])
    data = zlib.decompress(blob[17:])
    parts = []
    offset = 0
    for size in sizes:
        parts.append(data[offset : offset + size])
        offset += size
    headers = _array("i", parts[0])
    full = _array("i", parts[1]).tolist()
    indices = _array("I", parts[2]).tolist()
    deltas = _array("q", parts[3]).tolist()
    f = k = 0
    slot = base_slot
    vec: list[int] = []
    for h in range(0, len(headers), _HEADER):
        dslot, stat, n_p, n_c, n_v, n_changes = headers[h : h + _HEADER]
        slot += dslot
        if n_changes < 0:
            total = n_p + n_c + n_v
            vec = full[f : f + total]
            f += total
        else:
            vec = vec.copy()
            for i, d in zip(indices[k : k + n_changes], deltas[k : k + n_changes], strict=True):
                vec[i] += d
            k += n_changes
        yield Row(
            slot,
            stat,
            tuple(vec[:n_p]),
            tuple(vec[n_p : n_p + n_c]),
            tuple(vec[n_p + n_c :]),
        )


def chunk_slots(base_slot: int, blob: bytes) -> list[int]:
    """Only the slots of a chunk (for coverage and gap checks)."""
    sizes = _array("I", blob[1:17])
    data = zlib.decompress(blob[17:])
    headers = _array("i", data[: sizes[0]])
    slots = []
    slot = base_slot
    for h in range(0, len(headers), _HEADER):
        slot += headers[h]
        slots.append(slot)
    return slots


def pack_row(row: Row) -> bytes:
    """Buffer format of one sample: compressed, because the poll path writes it to disk."""
    header = array(
        "i", (row.stat, len(row.parameters), len(row.calculations), len(row.visibilities))
    )
    body = array("i", [*row.parameters, *row.calculations])
    visis = array("b", row.visibilities)
    return zlib.compress(_bytes(header) + _bytes(body) + visis.tobytes(), 6)


def unpack_row(slot: int, blob: bytes) -> Row:
    data = zlib.decompress(blob)
    stat, n_p, n_c, n_v = _array("i", data[:16])
    body = _array("i", data[16 : 16 + 4 * (n_p + n_c)])
    visis = array("b")
    visis.frombytes(data[16 + 4 * (n_p + n_c) : 16 + 4 * (n_p + n_c) + n_v])
    return Row(slot, stat, tuple(body[:n_p]), tuple(body[n_p:]), tuple(visis))


def pack_delta(row: Row, base: Row) -> bytes | None:
    """Buffer format of a sample stored against an earlier full sample (its keyframe).

    Only the values that differ from ``base`` are kept: a poll then writes ~100 bytes instead
    of ~800, so the buffer grows by a page far less often (each new page costs three more
    WAL frames). None when the block lengths differ (store the sample in full then).
    """
    lengths = (len(row.parameters), len(row.calculations), len(row.visibilities))
    if lengths != (len(base.parameters), len(base.calculations), len(base.visibilities)):
        return None
    vec = [*row.parameters, *row.calculations, *row.visibilities]
    prev = [*base.parameters, *base.calculations, *base.visibilities]
    changed = _changed(vec, prev)
    header = array("i", (row.stat, *lengths, len(changed)))
    deltas = array("q", [vec[i] - prev[i] for i in changed])
    return zlib.compress(_bytes(header) + _bytes(array("I", changed)) + _bytes(deltas), 6)


def unpack_delta(slot: int, blob: bytes, base: Row) -> Row:
    data = zlib.decompress(blob)
    stat, n_p, n_c, n_v, n = _array("i", data[:20])
    indices = _array("I", data[20 : 20 + 4 * n])
    deltas = _array("q", data[20 + 4 * n : 20 + 12 * n])
    vec = [*base.parameters, *base.calculations, *base.visibilities]
    if len(vec) != n_p + n_c + n_v:
        raise ValueError(f"delta of slot {slot} does not fit its keyframe {base.slot}")
    for i, d in zip(indices, deltas, strict=True):
        vec[i] += d
    return Row(slot, stat, tuple(vec[:n_p]), tuple(vec[n_p : n_p + n_c]), tuple(vec[n_p + n_c :]))
