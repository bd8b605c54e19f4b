"""``push.wire``: COPY fields made straight from a stored chunk equal those made from samples."""

from __future__ import annotations

from luxlog.codec import decode_chunk, encode_chunk
from luxlog.push.wire import (
    calculations_of,
    chunk_rows,
    copy_stream,
    direct_stream,
    int4_array,
    wire_int8,
    wire_int32,
)
from luxlog.sample import Sample
from support.fill import model_rows

BASE = 1_700_000_000 // 3600 * 3600


def _changed(s: Sample, *, p: int | None = None, v: int | None = None, c: int = 0) -> Sample:
    params = list(s.parameters)
    visis = list(s.visibilities)
    if p is not None:
        params[p] += 7
    if v is not None:
        visis[v] = -1 if visis[v] != -1 else 1
    calcs = list(s.calculations) + [12345] * c  # another firmware: a longer block
    return Sample(s.slot, s.stat, tuple(params), tuple(calcs), tuple(visis))


def test_chunk_rows_equal_the_blocks_of_the_decoded_samples() -> None:
    rows = model_rows(BASE, n=12)
    rows[3] = _changed(rows[3], p=0)  # first parameter
    rows[4] = _changed(rows[4], p=len(rows[4].parameters) - 1, v=0)
    rows[6] = _changed(rows[6], v=len(rows[6].visibilities) - 1)
    rows[8] = _changed(rows[8], c=3)  # stored in full (block lengths differ)
    rows[9] = _changed(rows[9], c=3, p=5)
    rows[10] = Sample(rows[10].slot, rows[10].stat, rows[10].parameters, (), ())
    blob = encode_chunk(BASE, rows)
    samples = list(decode_chunk(BASE, blob))
    wire = chunk_rows(BASE, blob)
    assert [(r.slot, r.stat) for r in wire] == [(s.slot, s.stat) for s in samples]
    for r, s in zip(wire, samples, strict=True):
        assert r.parameters == wire_int32(s.parameters)
        assert r.calculations == int4_array(s.calculations)
        assert r.visibilities == wire_int8(s.visibilities)
        assert calculations_of(r) == s.calculations
    assert wire[1].parameters is wire[0].parameters  # unchanged blocks are shared, not copied
    stream = direct_stream("house-1", wire)
    assert stream.startswith(b"PGCOPY\n\xff\r\n\x00") and stream.endswith(b"\xff\xff")
    assert stream.count(b"house-1") == len(wire)
    assert len(copy_stream(wire)) == len(stream) - len(wire) * (4 + len("house-1"))  # no site
