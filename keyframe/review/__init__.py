"""``keyframe review``: a local page where a person clears the review pile, one key a picture.

:mod:`~keyframe.review.queue` indexes a triage or gate output, :mod:`~keyframe.review.pixels`
prepares what the page shows, :mod:`~keyframe.review.server` serves it (Starlette, token on
every request), :mod:`keyframe.decisions` is the journal the keys write to, and
:mod:`~keyframe.review.approve` turns kept pictures into packages (``certify --approved``).
The page itself is package data: ``keyframe/html/review.{html,js,css}``.
"""
