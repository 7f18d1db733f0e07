"""Where reframe's crop window goes along one axis: around the kept box, with room beyond it.

A person box ends where the detector saw the body, not always where the person does (the
top of the hair, a raised hand): :data:`HEADROOM` is the room a planned reframe keeps beyond
it, both when it crops to the target's aspect (:func:`window`) and when it trims the other
side before extending the canvas (:func:`trimmed`).
"""
from __future__ import annotations

#: room kept around the kept box when ``trim`` crops before extending (a fraction of the
#: side): the framing check's 5 % edge band, so the subject is not left touching the crop
TRIM_MARGIN = 0.05
#: the room the planner asks for beyond the kept box, as a fraction of its extent: a person
#: box ends where the detector saw the body, not always where the person does. On the 29
#: people of mmpose_testdata's COCO-style sets matched to a YOLOX box (IoU >= 0.5), the box
#: top lies below the annotated top by 3.8 % of the person's height at the 95th percentile
#: (21.8 % at most), the bottom above it by 2.6 % (18.6 %); the Flux girl-in-field's hair
#: bun rises 11.4 % of her box above it, and a 5 % trim cut it off (2 December 2026)
HEADROOM = 0.12
#: the 95th percentiles of those shortfalls (top 3.8 %, bottom 2.6 % of the person's
#: height): when a crop cannot hold the box and HEADROOM both sides, these are kept first,
#: above then below, and the rest goes above. All of it above cut the COCO skier's ski
#: binding (000000000785, box bottom at the crop's last row; seen by eye, 2 December 2026)
HEAD_P95, FOOT_P95 = 0.038, 0.026


def window(length: int, keep: int, lo: int, hi: int, *, room: int = 0,
           lead: bool = False) -> tuple[int, int] | None:
    """Where a ``keep``-long window in [0, length) goes to hold [lo, hi) whole and ``room``
    px beyond it on each side (as much of the room as the frame has): ``(start, short)``,
    ``short`` the px of the room before ``lo`` that the window could not hold although the
    frame has them; None when [lo, hi) itself is longer than the window (a crop would cut
    it).

    The window is centred on the box and its room. When it cannot hold both, it holds the
    box whole and: with ``lead`` (the vertical axis: the room above a person is the head's)
    shares the spare rows out in this order — HEAD_P95 of the box above, FOOT_P95 below,
    the rest of ``room`` above, anything left below; without, it is centred on the box (the
    room shared evenly). The box is never cut for the room.
    """
    if hi - lo > keep:
        return None
    want_lo, want_hi = max(0, lo - room), min(length, hi + room)
    if want_hi - want_lo <= keep:
        start = int(round((want_lo + want_hi) / 2 - keep / 2))
        start = min(max(start, want_hi - keep, 0), want_lo, length - keep)
    elif lead:
        spare, above, below = keep - (hi - lo), lo - want_lo, want_hi - hi
        a = min(above, round(HEAD_P95 * (hi - lo)), spare)
        b = min(below, round(FOOT_P95 * (hi - lo)), spare - a)
        a += min(above - a, spare - a - b)
        start = min(lo - a, length - keep)
    else:
        start = int(round((lo + hi) / 2 - keep / 2))
        start = min(max(start, hi - keep, 0), lo, length - keep)
    start = max(0, start)
    return start, max(0, start - want_lo)


def trimmed(length: int, lo: int, size: int, headroom: float = 0.0) -> tuple[int, int]:
    """(start, length) of the window holding [lo, lo + size) and, each side, TRIM_MARGIN of
    ``length`` or ``headroom`` of ``size``, whichever is more, within [0, length)."""
    m = max(round(TRIM_MARGIN * length), round(headroom * size))
    start, end = max(0, lo - m), min(length, lo + size + m)
    return start, end - start
