"""Reframe: target aspect and size, protected boxes never cut, canvas extended when needed."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import scene
from keyframe.fixes.reframe import Reframe, salient_box


def run(rgb, **params):
    return Reframe().apply(rgb, Reframe.validate(params))


def test_size_and_input_untouched():
    rgb = scene(500)
    before = rgb.copy()
    out = run(rgb, width=320, height=180)
    assert out.shape == (180, 320, 3) and np.array_equal(rgb, before)


def test_crop_keeps_protected_box():
    rgb = np.zeros((300, 1000, 3), np.uint8)
    rgb[100:200, 800:900] = 255
    out = run(rgb, width=300, height=300, protect=[[800, 100, 100, 100]])
    assert out.shape == (300, 300, 3)
    assert (out > 200).all(axis=2).sum() == 100 * 100          # the whole square, uncut


def test_extends_when_crop_would_cut():
    rgb = np.full((300, 1000, 3), 90, np.uint8)
    rgb[:, 100:900] = 200
    out = run(rgb, width=500, height=500, protect=[[100, 0, 800, 300]])
    assert out.shape == (500, 500, 3)
    bright = (out[:, :, 0] > 150).any(axis=0)
    assert bright.sum() >= 0.75 * 500                          # subject spans the width


def test_crop_mode_refuses_to_cut():
    with pytest.raises(ValueError, match="cut"):
        run(scene(300), width=100, height=300, mode="crop", protect=[[0, 0, 300, 300]])


def test_margin_moves_subject_off_the_edge():
    rgb = scene(300)
    out = run(rgb, margin=0.1, protect=[[0, 100, 50, 50]])
    assert out.shape[1] > 300


def test_salient_box_finds_the_object():
    rgb = np.zeros((300, 1000, 3), np.uint8)
    rgb[100:200, 800:900] = 255
    x, y, w, h = salient_box(rgb)
    assert x < 850 < x + w and y < 150 < y + h
