"""A minimal reader of TensorFlow ``GraphDef`` files: the protobuf wire format decoded by hand
(no generated TF classes), enough for the small super-resolution graphs of
:mod:`keyframe.fixes._srnet` — nodes (name, op, inputs, attrs) and ``Const`` tensors as numpy
arrays (``TensorProto``: dtype, shape, ``tensor_content`` or ``float_val``/``int_val``).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np


# ------------------------------------------------------------------------- wire format


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at ``pos``; return (value, new position)."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated protobuf varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ValueError("malformed protobuf varint")


def _signed(v: int) -> int:
    """int64 two's complement from an unsigned varint value."""
    return v - (1 << 64) if v >= 1 << 63 else v


def _fields(buf: bytes):
    """Yield (field number, wire type, value) for each field of a message; value is an int
    for varint/fixed wire types (fixed ones as raw bytes) and bytes for length-delimited."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
            if pos > end:
                raise ValueError("truncated protobuf length-delimited field")
        elif wt == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
        yield num, wt, val


def _packed_varints(val: Any, wt: int) -> list[int]:
    if wt == 0:
        return [_signed(val)]
    out, pos = [], 0
    while pos < len(val):
        v, pos = _varint(val, pos)
        out.append(_signed(v))
    return out


def _packed_floats(val: Any, wt: int) -> list[float]:
    if wt == 5:
        return [struct.unpack("<f", val)[0]]
    return list(np.frombuffer(val, "<f4"))


# ------------------------------------------------------------------------- TF messages

#: TF DataType enum -> numpy dtype (the ones these graphs can hold)
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8,
           9: np.int64, 10: np.bool_, 19: np.float16}


def _shape(buf: bytes) -> tuple[int, ...] | None:
    """TensorShapeProto -> dims (-1 for unknown); None for an unknown rank."""
    dims = []
    for num, _, val in _fields(buf):
        if num == 2:
            size = 0
            for n2, _, v2 in _fields(val):
                if n2 == 1:
                    size = _signed(v2)
            dims.append(size)
        elif num == 3 and val:
            return None
    return tuple(dims)


def _tensor(buf: bytes) -> np.ndarray:
    """TensorProto -> numpy array."""
    dtype, shape, content = 1, (), None
    vals: list = []
    for num, wt, val in _fields(buf):
        if num == 1:
            dtype = val
        elif num == 2:
            shape = _shape(val) or ()
        elif num == 4:
            content = val
        elif num == 5:
            vals.extend(_packed_floats(val, wt))
        elif num == 6:
            vals.extend(np.frombuffer(val, "<f8") if wt == 2 else struct.unpack("<d", val))
        elif num in (7, 10, 11):
            vals.extend(_packed_varints(val, wt))
    if dtype not in _DTYPES:
        raise ValueError(f"unsupported tensor dtype {dtype}")
    np_dtype = np.dtype(_DTYPES[dtype])
    count = int(np.prod(shape)) if shape else 1
    if content is not None:
        arr = np.frombuffer(content, np_dtype.newbyteorder("<")).astype(np_dtype)
    elif vals:
        arr = np.asarray(vals, dtype=np_dtype)
        if arr.size == 1 and count != 1:
            arr = np.full(count, arr[0], np_dtype)   # a splat: one value fills the tensor
    else:
        arr = np.zeros(count, np_dtype)
    if arr.size != count:
        raise ValueError(f"tensor has {arr.size} values for shape {shape}")
    return arr.reshape(shape) if shape else arr.reshape(())


def _attr(buf: bytes) -> Any:
    """AttrValue -> python value (bytes decoded to str, list -> list, tensor -> ndarray)."""
    for num, wt, val in _fields(buf):
        if num == 1:
            return _attr_list(val)
        if num == 2:
            return val.decode("utf-8", "replace")
        if num == 3:
            return _signed(val)
        if num == 4:
            return struct.unpack("<f", val)[0]
        if num == 5:
            return bool(val)
        if num == 6:
            return int(val)
        if num == 7:
            return _shape(val)
        if num == 8:
            return _tensor(val)
        if num == 9:
            return val.decode("utf-8", "replace")
    return None


def _attr_list(buf: bytes) -> list:
    out: list = []
    for num, wt, val in _fields(buf):
        if num == 2:
            out.append(val.decode("utf-8", "replace"))
        elif num in (3, 6):
            out.extend(_packed_varints(val, wt))
        elif num == 4:
            out.extend(_packed_floats(val, wt))
        elif num == 5:
            out.extend(bool(v) for v in _packed_varints(val, wt))
        elif num == 7:
            out.append(_shape(val))
        elif num == 8:
            out.append(_tensor(val))
    return out


@dataclass(frozen=True)
class Node:
    """One NodeDef: ``inputs`` are node names (``^control`` inputs dropped, ``:0`` stripped)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)


def _node(buf: bytes) -> Node:
    name = op = ""
    inputs: list[str] = []
    attrs: dict[str, Any] = {}
    for num, _, val in _fields(buf):
        if num == 1:
            name = val.decode()
        elif num == 2:
            op = val.decode()
        elif num == 3:
            s = val.decode()
            if not s.startswith("^"):
                base, _, idx = s.partition(":")
                if idx not in ("", "0"):
                    raise ValueError(f"node {name!r}: multi-output input {s!r} is not supported")
                inputs.append(base)
        elif num == 5:
            key, value = "", b""
            for n2, _, v2 in _fields(val):
                if n2 == 1:
                    key = v2.decode()
                elif n2 == 2:
                    value = v2
            attrs[key] = _attr(value)
    return Node(name, op, tuple(inputs), attrs)


def parse_graphdef(data: bytes) -> list[Node]:
    """The NodeDefs of a serialized ``GraphDef`` in file order."""
    nodes = [_node(val) for num, wt, val in _fields(data) if num == 1 and wt == 2]
    if not nodes:
        raise ValueError("no nodes found: not a TensorFlow GraphDef")
    return nodes
