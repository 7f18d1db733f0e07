"""External: run a user's own tool on the image, as one step of a recipe.

A face swap, a diffusion inpainter or an in-house script that keyframe does not ship can sit
inside a recipe: keyframe writes the current pixels to a temporary PNG, runs the command with
``{input}`` and ``{output}`` replaced by the two temporary paths, and reads the output back.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keyframe.fixes._common import check_rgb
from keyframe.image import ImageError, encode_png, load
from keyframe.package import write_atomic
from keyframe.registry import Fix

#: largest change of pixel area (either way) a step that declares ``geometry`` may make
MAX_AREA_RATIO = 64.0
#: characters of the command's stderr quoted in an error
STDERR_CHARS = 200


class ExternalError(RuntimeError):
    """The external command failed, timed out or wrote no usable image; one line."""


def _argv(command: Any) -> tuple[str, ...]:
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"external: command cannot be split into arguments: {exc}") from None
    elif isinstance(command, (list, tuple)) and all(isinstance(a, str) for a in command):
        argv = list(command)
    else:
        raise ValueError("external: command must be a string or a list of strings")
    if not argv:
        raise ValueError("external: command is empty")
    joined = " ".join(argv)
    for slot in ("{input}", "{output}"):
        if slot not in joined:
            raise ValueError(f"external: command must contain the {slot} placeholder")
    return tuple(argv)


class External(Fix):
    """Run ``command`` on a temporary PNG of the image and take the PNG it writes.

    ``command`` is a list of argv strings, or one string split with :func:`shlex.split`; it
    is run directly, never through a shell, with ``{input}`` / ``{output}`` in any argument
    replaced by the temporary paths, stdin closed and the temporary folder as working
    directory. After it exits, the output must exist, decode as an image, and have the
    input's size — or, when ``geometry`` is true (the step may crop or resize), an area
    within 1/64..64x of the input's. A non-zero exit, a timeout (the whole process group is
    killed), a missing or undecodable output or an insane size raises
    :class:`ExternalError` with one line; the temporary folder is always removed, so a
    failed step leaves no partial output anywhere.

    Why: the last 10 % of a generation is often mended with tools keyframe does not ship;
    putting them in a recipe makes the whole refinement replayable across a campaign.
    Replays are only as deterministic as the command.
    """

    name = "external"
    mends = ()
    changes_geometry = False
    stage = 155

    @dataclass(frozen=True)
    class Params:
        command: str | list = ""
        timeout: float = field(default=60.0, metadata={"min": 0.1, "max": 3600.0})
        geometry: bool = False

        def __post_init__(self) -> None:
            object.__setattr__(self, "command", _argv(self.command))

    @classmethod
    def geometry_changes(cls, params: Any) -> bool:
        """Whether this step may change the image's size (declared by ``geometry``)."""
        return bool(params.geometry)

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        h, w = rgb.shape[:2]
        with tempfile.TemporaryDirectory(prefix="keyframe-external-") as tmp:
            src, dst = Path(tmp) / "input.png", Path(tmp) / "output.png"
            write_atomic(src, encode_png(rgb))
            argv = [a.replace("{input}", str(src)).replace("{output}", str(dst))
                    for a in params.command]
            _run(argv, params.timeout, tmp)
            if not dst.is_file():
                raise ExternalError(f"external: `{params.command[0]}` exited 0 but wrote no "
                                    f"output file at {{output}}")
            try:
                out = load(dst).rgb
            except ImageError as exc:
                raise ExternalError(f"external: the output of `{params.command[0]}` is not a "
                                    f"usable image: {str(exc).split(': ', 1)[-1]}") from None
        oh, ow = out.shape[:2]
        if params.geometry:
            ratio = (ow * oh) / float(w * h)
            if not 1.0 / MAX_AREA_RATIO <= ratio <= MAX_AREA_RATIO:
                raise ExternalError(f"external: output is {ow}x{oh} for a {w}x{h} input "
                                    f"(area ratio {ratio:.3g}, allowed 1/{MAX_AREA_RATIO:g}.."
                                    f"{MAX_AREA_RATIO:g})")
        elif (ow, oh) != (w, h):
            raise ExternalError(f"external: output is {ow}x{oh} but the input is {w}x{h}; "
                                "set geometry = true if the command may change the size")
        return np.ascontiguousarray(out).copy()


def _run(argv: list[str], timeout: float, cwd: str) -> None:
    """Run ``argv`` in its own process group; kill the group on timeout."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=cwd, start_new_session=True)
    except OSError as exc:
        raise ExternalError(f"external: cannot run `{argv[0]}`: "
                            f"{exc.strerror or exc}") from None
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise ExternalError(f"external: `{argv[0]}` timed out after {timeout:g} s and was "
                            "killed") from None
    if proc.returncode != 0:
        tail = " ".join(err.decode("utf-8", "replace").split())[-STDERR_CHARS:]
        raise ExternalError(f"external: `{argv[0]}` failed with exit code {proc.returncode}"
                            + (f": {tail}" if tail else ""))


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the process group this module started for ``proc`` (POSIX), else the process."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except ProcessLookupError:
            return
    proc.kill()
