"""A small runner for the OpenCV ``dnn_superres`` TensorFlow GraphDef files (FSRCNN, ESPCN).

OpenCV 5 can no longer import these ``.pb`` files (its TF importer fails on DepthToSpace) and
TensorFlow is far too heavy a dependency for ~10-100 k parameters, so this module reads the
protobuf wire format directly (no generated TF classes) and executes the handful of ops these
networks use with numpy and OpenCV:

- :func:`parse_graphdef` (:mod:`keyframe.fixes._graphdef`) — ``GraphDef`` bytes -> list of
  :class:`Node` (name, op, inputs, attrs); ``Const`` tensors decoded to numpy arrays.
- :func:`load` — the parsed :class:`Graph` of a file, cached per (path, size, mtime).
- :meth:`Graph.run` — run the graph on one float32 HxW plane (NHWC ``[1,H,W,1]``) and return
  the network's output as a 2-D float32 plane.

Supported ops: Placeholder, Const, Identity, Conv2D (NHWC, SAME/VALID, strides, dilation 1),
Conv2DBackpropInput (transposed conv), BiasAdd, Add/AddV2, Sub, Mul, RealDiv, Neg, Abs,
Maximum, Minimum, Relu, Relu6, Tanh, Sigmoid, PReLU, DepthToSpace (DCR order), a final
NHWC->NCHW Transpose, and Reshape/Squeeze/ExpandDims/Pad/Transpose on constants. FSRCNN's
PReLU, stored as ``Relu(a) + alpha * (a - Abs(a)) * 0.5``, is folded into one PReLU node
when the graph is built (same result, 3x fewer passes over the activations). Any other op
raises ``ValueError`` with one line naming it and its node.

Activations are held channel-first with the batch dropped ([C,H,W] float32), so each
channel is a contiguous plane for cv2.filter2D (per input/output channel pair; 1x1
convolutions are one matrix product). A 512x512 luma plane takes about 0.3 s (FSRCNN x2) to
0.5 s (ESPCN x2) on this machine's cores. Nothing is random and the summation order is
fixed, so the same input gives the same bytes run after run.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._graphdef import Node, parse_graphdef

# ------------------------------------------------------------------------- kernels
#
# Activations are held channel-first, batch dropped: a [1,H,W,C] NHWC tensor of the graph is
# a C-contiguous [C,H,W] float32 array here, so every channel is a contiguous plane that
# cv2.filter2D reads and writes without strides.


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """TF "SAME" padding (before, after) for one axis."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv2d(x: np.ndarray, w: np.ndarray, strides: tuple[int, int] = (1, 1),
           padding: str = "SAME") -> np.ndarray:
    """TF Conv2D (cross-correlation) on a [Cin,H,W] float32 array with a TF kernel
    [kh,kw,Cin,Cout] -> [Cout,H',W'].

    1x1 kernels are one matrix product. Others: each output channel is the sum over input
    channels of ``cv2.filter2D`` with a zero border (exact TF SAME/VALID pads); strides take
    every s-th sample of the stride-1 result (these networks have small kernels, stride 1).
    """
    cin, h, wd = x.shape
    kh, kw, wcin, cout = w.shape
    if wcin != cin:
        raise ValueError(f"Conv2D: input has {cin} channels, kernel expects {wcin}")
    sy, sx = strides
    if padding == "SAME":
        pt, pb = _same_pads(h, kh, sy)
        pl, pr = _same_pads(wd, kw, sx)
    elif padding == "VALID":
        pt = pb = pl = pr = 0
    else:
        raise ValueError(f"Conv2D: unsupported padding {padding!r}")
    w = np.asarray(w, np.float32)
    if kh == 1 and kw == 1 and not (pt or pb or pl or pr):
        xs = x[:, ::sy, ::sx]
        y = w[0, 0].T @ np.ascontiguousarray(xs).reshape(cin, -1)
        return y.reshape(cout, xs.shape[1], xs.shape[2])
    if (pt, pb, pl, pr) == (kh // 2, kh // 2, kw // 2, kw // 2):
        # odd kernel, centred SAME pads: filter2D's own zero border does it, no copy
        planes, anchor, (oh, ow) = x, (kw // 2, kh // 2), (h, wd)
    else:
        planes = np.pad(x, ((0, 0), (pt, pb), (pl, pr)))
        anchor = (0, 0)   # out(y, x) = sum k(i, j) src(y + i, x + j): VALID at the top-left
        oh, ow = planes.shape[1] - kh + 1, planes.shape[2] - kw + 1
    out = np.empty((cout, oh, ow), np.float32)
    tmp = np.empty(planes.shape[1:], np.float32)
    for o in range(cout):
        acc = np.zeros(planes.shape[1:], np.float32)
        for c in range(cin):
            k = np.ascontiguousarray(w[:, :, c, o])
            if k.any():
                cv2.filter2D(planes[c], cv2.CV_32F, k, dst=tmp, anchor=anchor,
                             borderType=cv2.BORDER_CONSTANT)
                acc += tmp
        out[o] = acc[:oh, :ow]
    if sy != 1 or sx != 1:
        out = np.ascontiguousarray(out[:, ::sy, ::sx])
    return out


def conv2d_transpose(x: np.ndarray, w: np.ndarray, out_hw: tuple[int, int],
                     strides: tuple[int, int] = (1, 1), padding: str = "SAME") -> np.ndarray:
    """TF ``Conv2DBackpropInput``: the transpose (adjoint) of :func:`conv2d`.

    ``x`` [Cin,H,W] (Cin = the forward conv's output channels), ``w`` the TF filter
    [kh,kw,Cout,Cin] -> [Cout,out_h,out_w]: zero-insertion by the stride, pads of
    (k - 1 - forward pad) and a stride-1 correlation with the spatially flipped kernel.
    """
    cin, h, wd = x.shape
    kh, kw, _, wcin = w.shape
    if wcin != cin:
        raise ValueError(f"Conv2DBackpropInput: input has {cin} channels, kernel expects {wcin}")
    sy, sx = strides
    oh, ow = out_hw
    if padding == "SAME":
        pt, pl = _same_pads(oh, kh, sy)[0], _same_pads(ow, kw, sx)[0]
    elif padding == "VALID":
        pt = pl = 0
    else:
        raise ValueError(f"Conv2DBackpropInput: unsupported padding {padding!r}")
    z = np.zeros((cin, (h - 1) * sy + 1, (wd - 1) * sx + 1), np.float32)
    z[:, ::sy, ::sx] = x
    bt, bl = kh - 1 - pt, kw - 1 - pl
    bb, br = oh + kh - 1 - bt - z.shape[1], ow + kw - 1 - bl - z.shape[2]
    z = np.pad(z, ((0, 0), (max(bt, 0), max(bb, 0)), (max(bl, 0), max(br, 0))))
    z = z[:, max(-bt, 0):z.shape[1] - max(-bb, 0), max(-bl, 0):z.shape[2] - max(-br, 0)]
    wf = w[::-1, ::-1].transpose(0, 1, 3, 2)            # [kh,kw,Cin,Cout], flipped
    return conv2d(np.ascontiguousarray(z), wf, (1, 1), "VALID")


def depth_to_space(x: np.ndarray, b: int) -> np.ndarray:
    """TF DepthToSpace (NHWC, DCR order) on [b*b*C,H,W] -> [C,H*b,W*b]: depth index
    (i*b + j)*C + c goes to pixel (y*b + i, x*b + j) of channel c."""
    c, h, w = x.shape
    if c % (b * b):
        raise ValueError(f"DepthToSpace: {c} channels is not a multiple of {b}x{b}")
    oc = c // (b * b)
    y = x.reshape(b, b, oc, h, w).transpose(2, 3, 0, 4, 1)
    return np.ascontiguousarray(y.reshape(oc, h * b, w * b))


def prelu(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """max(x, 0) + alpha * min(x, 0), ``alpha`` broadcast per channel ([C,1,1] or scalar)."""
    neg = np.minimum(x, np.float32(0))
    neg *= alpha
    out = np.maximum(x, np.float32(0))
    out += neg
    return out


# ------------------------------------------------------------------------- graph

_BINARY = {
    "Add": np.add, "AddV2": np.add, "BiasAdd": np.add, "Sub": np.subtract,
    "Mul": np.multiply, "RealDiv": np.divide, "Maximum": np.maximum, "Minimum": np.minimum,
}
_UNARY = {
    "Identity": lambda x: x, "Neg": np.negative, "Abs": np.abs,
    "Relu": lambda x: np.maximum(x, np.float32(0)),
    "Relu6": lambda x: np.clip(x, np.float32(0), np.float32(6)),
    "Tanh": np.tanh, "Sigmoid": lambda x: np.float32(1) / (np.float32(1) + np.exp(-x)),
}
SUPPORTED_OPS = frozenset({"Placeholder", "Const", "Conv2D", "Conv2DBackpropInput",
                           "DepthToSpace", "Transpose", "Reshape", "Squeeze", "ExpandDims",
                           "Pad", "PReLU"} | set(_BINARY) | set(_UNARY))


def _chw_const(value: Any) -> np.ndarray:
    """A constant in NHWC broadcasting terms, re-laid out to broadcast against [C,H,W]."""
    c = np.asarray(value, np.float32)
    if c.ndim == 0:
        return c
    if c.ndim > 4:
        raise ValueError(f"a constant of rank {c.ndim} cannot broadcast against an image")
    c = c.reshape((1,) * (4 - c.ndim) + c.shape)
    if c.shape[0] != 1:
        raise ValueError("a constant with a batch axis > 1 is not supported")
    return np.ascontiguousarray(c[0].transpose(2, 0, 1))


def _check_nhwc(node: Node) -> None:
    fmt = node.attrs.get("data_format", "NHWC")
    if fmt != "NHWC":
        raise ValueError(f"node {node.name!r}: data_format {fmt} is not supported (NHWC only)")


@dataclass
class Graph:
    """A parsed GraphDef ready to run: the nodes the output needs, in execution order, after
    the PReLU subgraphs were folded into ``PReLU`` nodes."""

    nodes: dict[str, Node]
    order: list[str]
    input: str
    output: str
    #: every node of the file, before folding and pruning (for inspection)
    all_nodes: tuple[Node, ...] = ()

    @property
    def radius(self) -> int:
        """An upper bound of the receptive radius in input px: the sum of the half-sizes of
        every (transposed) convolution kernel."""
        r = 0
        for node in self.nodes.values():
            if node.op in ("Conv2D", "Conv2DBackpropInput"):
                kh, kw = np.shape(self.nodes[node.inputs[1]].attrs["value"])[:2]
                r += max(kh, kw) // 2
        return r

    @property
    def consts(self) -> dict[str, np.ndarray]:
        """The file's Const tensors by node name."""
        return {n.name: n.attrs["value"] for n in self.all_nodes if n.op == "Const"}

    def ops(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(name, op, inputs) of every node that runs, in order."""
        return [(n, self.nodes[n].op, self.nodes[n].inputs) for n in self.order]

    def run(self, plane: np.ndarray) -> np.ndarray:
        """Run the network on an HxW float32 plane (fed as NHWC [1,H,W,1]) and return its
        single-channel output (``[1,H',W',1]`` or, after the final NHWC->NCHW Transpose,
        ``[1,1,H',W']``) as an H'xW' float32 plane."""
        plane = np.asarray(plane)
        if plane.ndim != 2:
            raise ValueError("the network takes one HxW plane")
        vals: dict[str, Any] = {}
        kind: dict[str, str] = {}       # "nhwc" / "nchw" activation (data always [C,H,W])
        for name in self.order:
            node = self.nodes[name]
            op, a = node.op, node.attrs
            if op == "Placeholder":
                vals[name] = np.ascontiguousarray(plane, np.float32)[None]
                kind[name] = "nhwc"
                continue
            if op == "Const":
                vals[name] = a["value"]
                continue
            ins = [vals[i] for i in node.inputs]
            acts = [kind.get(i, "") for i in node.inputs]
            if "nchw" in acts and op != "Identity":
                raise ValueError(f"node {name!r}: {op} after the NCHW transpose is not supported")
            is_act = [k == "nhwc" for k in acts]
            kind[name] = "nhwc" if any(is_act) else ""
            if op in _BINARY:
                if op == "BiasAdd":
                    _check_nhwc(node)
                if any(is_act):
                    x, y = (v if act else _chw_const(v) for v, act in zip(ins, is_act))
                    vals[name] = _BINARY[op](x, y).astype(np.float32, copy=False)
                else:
                    vals[name] = _BINARY[op](*ins)
            elif op in _UNARY:
                vals[name] = _UNARY[op](ins[0])
                kind[name] = acts[0]
            elif op == "PReLU":
                vals[name] = prelu(ins[0], _chw_const(ins[1]))
            elif op == "Conv2D":
                _check_nhwc(node)
                if any(d != 1 for d in a.get("dilations", [1, 1, 1, 1])):
                    raise ValueError(f"node {name!r}: dilated Conv2D is not supported")
                st = a.get("strides", [1, 1, 1, 1])
                vals[name] = conv2d(ins[0], ins[1], (st[1], st[2]), a.get("padding", "SAME"))
            elif op == "Conv2DBackpropInput":
                _check_nhwc(node)
                sizes, w, x = ins
                st = a.get("strides", [1, 1, 1, 1])
                sizes = np.asarray(sizes).ravel()
                if sizes.size == 4 and sizes[1] > 0 and sizes[2] > 0 \
                        and not is_act[0]:
                    oh, ow = int(sizes[1]), int(sizes[2])
                else:
                    oh, ow = x.shape[1] * st[1], x.shape[2] * st[2]
                vals[name] = conv2d_transpose(x, w, (oh, ow), (st[1], st[2]),
                                              a.get("padding", "SAME"))
                kind[name] = "nhwc"
            elif op == "DepthToSpace":
                _check_nhwc(node)
                vals[name] = depth_to_space(ins[0], int(a["block_size"]))
            elif op == "Transpose":
                x, perm = ins
                perm = [int(p) for p in np.asarray(perm).ravel()]
                if is_act[0]:
                    if perm != [0, 3, 1, 2]:
                        raise ValueError(f"node {name!r}: Transpose {perm} of an image is "
                                         "not supported (only NHWC->NCHW)")
                    vals[name] = x              # same [C,H,W] data, now read as NCHW
                    kind[name] = "nchw"
                else:
                    vals[name] = np.transpose(x, perm)
            elif op in ("Reshape", "Squeeze", "ExpandDims", "Pad"):
                if is_act[0]:
                    raise ValueError(f"node {name!r}: {op} of an image is not supported")
                x = ins[0]
                vals[name] = (np.reshape(x, np.asarray(ins[1]).ravel()) if op == "Reshape"
                              else np.squeeze(x) if op == "Squeeze"
                              else np.expand_dims(x, int(np.asarray(ins[1])))
                              if op == "ExpandDims"
                              else np.pad(x, np.asarray(ins[1]).reshape(-1, 2)))
            else:
                raise ValueError(f"unsupported TensorFlow op {op!r} (node {name!r})")
        out, k = vals[self.output], kind.get(self.output)
        if k not in ("nhwc", "nchw") or out.shape[0] != 1:
            raise ValueError("the network's output is not a single-channel image")
        return np.ascontiguousarray(out[0], np.float32)


def _scalar_const(nodes: dict[str, Node], name: str) -> np.ndarray | None:
    n = nodes.get(name)
    return np.asarray(n.attrs["value"], np.float32) if n is not None and n.op == "Const" \
        else None


def _match_prelu(nodes: dict[str, Node], add: Node) -> tuple[str, np.ndarray] | None:
    """``Add(Relu(a), k * (a - Abs(a)))`` with ``k`` a product of Const factors (FSRCNN's
    PReLU: alpha * (a - |a|) * 0.5) -> (a, alpha) with ``alpha = 2k``; else None."""
    if add.op not in ("Add", "AddV2") or len(add.inputs) != 2:
        return None
    for relu_name, rest in (add.inputs, add.inputs[::-1]):
        relu = nodes.get(relu_name)
        if relu is None or relu.op != "Relu":
            continue
        a = relu.inputs[0]
        factor = np.float32(1)
        cur = nodes.get(rest)
        while cur is not None and cur.op == "Mul":
            c0, c1 = (_scalar_const(nodes, i) for i in cur.inputs)
            if c0 is not None and c1 is None:
                factor, cur = factor * c0, nodes.get(cur.inputs[1])
            elif c1 is not None and c0 is None:
                factor, cur = factor * c1, nodes.get(cur.inputs[0])
            else:
                break
        if cur is not None and cur.op == "Sub" and cur.inputs[0] == a:
            ab = nodes.get(cur.inputs[1])
            if ab is not None and ab.op == "Abs" and ab.inputs[0] == a and factor is not None:
                return a, np.asarray(2 * factor, np.float32)
    return None


def build(nodes: list[Node], output: str | None = None) -> Graph:
    """Fold PReLU subgraphs, order the nodes from the Placeholder to ``output`` (default
    ``NCHW_output`` when present, else the last node nothing consumes) and check that every
    op is supported (``ValueError`` naming the first one that is not)."""
    by_name = {n.name: n for n in nodes}
    placeholders = [n.name for n in nodes if n.op == "Placeholder"]
    if len(placeholders) != 1:
        raise ValueError(f"expected one Placeholder input, found {len(placeholders)}")
    if output is None:
        used = {i for n in nodes for i in n.inputs}
        sinks = [n.name for n in nodes if n.name not in used and n.op != "Const"]
        output = "NCHW_output" if "NCHW_output" in by_name else (sinks[-1] if sinks else "")
    if output not in by_name:
        raise ValueError(f"output node {output!r} is not in the graph")
    folded = dict(by_name)
    for n in nodes:
        hit = _match_prelu(by_name, n)
        if hit is not None:
            a, alpha = hit
            const = f"{n.name}/_prelu_alpha"
            folded[const] = Node(const, "Const", (), {"value": alpha})
            folded[n.name] = Node(n.name, "PReLU", (a, const), {})
    order: list[str] = []
    seen: set[str] = set()
    stack = [(output, False)]
    while stack:                        # iterative post-order DFS
        cur, done = stack.pop()
        if done:
            if cur not in seen:
                seen.add(cur)
                order.append(cur)
            continue
        if cur in seen:
            continue
        if cur not in folded:
            raise ValueError(f"node input {cur!r} is not in the graph")
        stack.append((cur, True))
        stack.extend((i, False) for i in reversed(folded[cur].inputs) if i not in seen)
    for name in order:
        if folded[name].op not in SUPPORTED_OPS:
            raise ValueError(f"unsupported TensorFlow op {folded[name].op!r} (node {name!r})")
    if placeholders[0] not in seen:
        raise ValueError(f"the output {output!r} does not depend on the input")
    return Graph(nodes={n: folded[n] for n in order}, order=order, input=placeholders[0],
                 output=output, all_nodes=tuple(nodes))


@functools.lru_cache(maxsize=16)
def _load_cached(path: str, size: int, mtime_ns: int) -> Graph:
    return build(parse_graphdef(Path(path).read_bytes()))


def load(path: str | os.PathLike) -> Graph:
    """The runnable :class:`Graph` of a ``.pb`` file, parsed once per file version (path,
    size, mtime) and reused."""
    st = os.stat(path)
    return _load_cached(os.fspath(path), st.st_size, st.st_mtime_ns)
