"""Array codecs of the compact ``.kumo`` format: quantize, byte-shuffle, compress (zstd through pyarrow, or
zlib from the standard library: a small file in zlib loads without importing pyarrow).

An encoded array is a bytes blob plus a small JSON-able spec that says how to undo it. Two encodings:

``raw``
    the array's own bytes (any fixed-size dtype), lossless.
``quantized``
    ``q = round(x * scale)`` as the smallest unsigned integer type that holds it; decoded as
    ``float32(q / scale)`` (computed in float64). Absolute error at most ``0.5 / scale`` plus float32
    rounding of the decoded value. The spec records ``exact`` when decoding reproduces ``x`` bit for bit.

Multi-byte values are byte-shuffled (all first bytes, then all second bytes, ...) before compression: the
high bytes of small numbers are mostly zero and compress to almost nothing.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

#: elements per block of :func:`quantize` (512 KiB of float64: stays in cache)
_BLOCK = 1 << 16
#: the default codec; ``zlib`` is the other one (levels above 9 are read as 9)
CODEC = "zstd"
CODECS = ("zstd", "zlib")


def shuffle(a: np.ndarray) -> bytes:
    """Bytes of ``a`` grouped by byte position (a no-op for 1-byte types)."""
    flat = np.ascontiguousarray(a).reshape(-1)
    if flat.itemsize == 1:
        return flat.tobytes()
    return np.ascontiguousarray(flat.view(np.uint8).reshape(-1, flat.itemsize).T).tobytes()


def unshuffle(raw: bytes, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`shuffle`."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    b = np.frombuffer(raw, dtype=np.uint8)
    if dtype.itemsize == 1:
        return b.view(dtype).reshape(shape).copy()
    return np.ascontiguousarray(b.reshape(dtype.itemsize, n).T).view(dtype).reshape(shape)


def compress(data: bytes, level: int, codec: str = CODEC) -> bytes:
    if codec == "zlib":
        return zlib.compress(data, min(max(level, 0), 9))
    if codec != "zstd":
        raise ValueError(f"unknown codec {codec!r}; valid: {', '.join(CODECS)}")
    import pyarrow as pa

    return pa.Codec("zstd", compression_level=level).compress(data, asbytes=True)


def decompress(blob: bytes, size: int, codec: str = CODEC) -> bytes:
    """The ``size`` bytes compressed in ``blob``; ValueError when it holds another number of bytes or does
    not decompress (never more than ``size + 1`` bytes are inflated)."""
    if codec == "zlib":
        try:
            d = zlib.decompressobj()
            out = d.decompress(blob, size + 1)
        except zlib.error as exc:
            raise ValueError(f"zlib: {exc}") from None
        if len(out) != size or not d.eof or d.unused_data:
            raise ValueError(f"zlib member holds {'more than ' if len(out) > size else ''}{len(out)} bytes, the "
                             f"spec says {size}")
        return out
    import pyarrow as pa

    try:
        out = pa.Codec("zstd").decompress(blob, decompressed_size=size, asbytes=True)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"zstd: {exc}") from None
    if len(out) != size:
        raise ValueError(f"zstd member holds {len(out)} bytes, the spec says {size}")
    return out


def _uint_for(max_value: int) -> np.dtype:
    for t in (np.uint8, np.uint16, np.uint32, np.uint64):
        if max_value <= np.iinfo(t).max:
            return np.dtype(t)
    raise ValueError(f"value {max_value} too large to quantize")


def dequantize(q: np.ndarray, scale: float) -> np.ndarray:
    """float32(q / scale), computed in float64 so that encoder and decoder agree to the bit.

    ``q`` may be a non-contiguous view (a transpose): the result is C-contiguous in ``q``'s logical layout,
    written in one pass without a float64 temporary.
    """
    out = np.empty(q.shape, dtype=np.float32)
    np.divide(q, scale, out=out, dtype=np.float64, casting="unsafe")
    return out


def quantize(x: np.ndarray, scale: float) -> np.ndarray | None:
    """Unsigned integers ``round(x * scale)``, or None when ``x`` has NaN, negatives or huge values.

    ``x * scale`` is computed in float64 a block at a time (a large array needs no float64 copy of itself);
    its extremes are those of ``x`` times ``scale`` (rounding is monotonic), and NaN propagates to them.
    """
    x = np.asarray(x)
    if x.size == 0:
        return None
    lo, hi = float(x.min()) * scale, float(x.max()) * scale
    if not (lo >= 0 and hi < 2.0**53):  # also False for NaN and infinity
        return None
    flat = x.reshape(-1)
    out = np.empty(flat.shape, dtype=_uint_for(int(np.rint(hi))))
    block = np.empty(min(flat.size, _BLOCK), dtype=np.float64)
    for i in range(0, flat.size, _BLOCK):
        part = block[:min(_BLOCK, flat.size - i)]
        np.multiply(flat[i:i + _BLOCK], scale, out=part, dtype=np.float64, casting="unsafe")
        np.rint(part, out=part)
        out[i:i + len(part)] = part
    return out.reshape(x.shape)


def encode(x: np.ndarray, level: int, scale: float | None = None, codec: str = CODEC) -> tuple[bytes, dict[str, Any]]:
    """Encode one array; quantized with ``scale`` when given and possible, else raw (lossless)."""
    x = np.ascontiguousarray(x)
    spec: dict[str, Any] = {"shape": list(x.shape), "codec": codec}
    q = quantize(x, scale) if scale is not None else None
    if q is not None and scale is not None:
        exact = bool(np.array_equal(dequantize(q, scale), x)) if x.dtype == np.float32 else False
        spec |= {"encoding": "quantized", "dtype": q.dtype.str, "scale": scale, "exact": exact}
        payload = q
    else:
        spec |= {"encoding": "raw", "dtype": x.dtype.str}
        payload = x
    spec["raw_bytes"] = payload.nbytes
    return compress(shuffle(payload), level, codec), spec


#: the array types a spec may name: numbers only (no objects, strings or structured types)
_DTYPE_KINDS = "biuf"


def decode(blob: bytes, spec: dict[str, Any], transpose: bool = False,
           shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Inverse of :func:`encode`; with ``transpose`` the C-contiguous transpose of the encoded array.

    The spec is checked before anything is inflated (a ValueError says what is wrong): its ``shape`` (equal
    to ``shape`` when given), a numeric ``dtype``, ``raw_bytes`` = the shape's bytes, a known codec, encoding
    and, when quantized, a finite positive scale.
    """
    got = spec.get("shape")
    if not isinstance(got, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in got) \
            or (shape is not None and tuple(got) != tuple(shape)):
        raise ValueError(f"shape {got!r}, expected {list(shape) if shape is not None else 'whole numbers >= 0'}")
    shape = tuple(got)
    codec = spec.get("codec")
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}")
    dtype = np.dtype(spec["dtype"])
    if dtype.kind not in _DTYPE_KINDS or dtype.itemsize > 8:
        raise ValueError(f"dtype {dtype} is not a number type")
    if spec["encoding"] not in ("raw", "quantized"):
        raise ValueError(f"unknown encoding {spec['encoding']!r}")
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if spec.get("raw_bytes") != size:
        raise ValueError(f"raw_bytes {spec.get('raw_bytes')!r}, expected {size} for shape {shape} of {dtype}")
    data = unshuffle(decompress(blob, size, codec), dtype, shape)
    if transpose:
        data = data.T
    if spec["encoding"] == "raw":
        return np.ascontiguousarray(data)
    scale = spec.get("scale")
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not 0 < scale < float("inf"):
        raise ValueError(f"scale {scale!r} is not a positive number")
    return dequantize(data, float(scale))
