"""keyframe: the quality gate between an image generator and an image-to-video model.

Measure each generation (checks), decide certified / fix / review / trash (router, under a
profile), and write certified keyframe packages. See README.md and docs/architecture.md.
"""
from importlib import metadata

try:
    __version__ = metadata.version("keyframe")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
