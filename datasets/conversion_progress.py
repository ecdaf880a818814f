"""The progress line every long conversion logs, like training's.

    progress = conversion_progress.ConversionProgress(len(files), log)
    for item in files:
      ...convert and write it...
      progress.step()

logs, about every 5% of the images and at least every 30 seconds, then once
more at the end:

    Converted 12800/50000 images (25%), 431.7 images/sec, ETA 0:01:26

The rate is the average since the start; the ETA is what the images left
take at that rate, in training's h:mm:ss.
"""

import time

from deployment import progress

# A line at least this often, so that a multi-hour build (ImageNet's 5% is
# 64000 images) still shows it is alive.
MAX_SECONDS_BETWEEN_LINES = 30.0
LINES_PER_CONVERSION = 20


class ConversionProgress(object):
  """Counts the images converted and logs the progress line now and then."""

  def __init__(self, total, log, clock=time.time,
               max_seconds=MAX_SECONDS_BETWEEN_LINES):
    """Starts the clock.

    Args:
      total: images the conversion will handle (stored or skipped).
      log: called with each line.
      clock: seconds now; a fake one in tests.
      max_seconds: the longest wait between two lines.
    """
    self.total = total
    self.done = 0
    self._log = log
    self._clock = clock
    self._max_seconds = max_seconds
    self._start = self._last_line = clock()
    self._every = max(1, total // LINES_PER_CONVERSION)

  def step(self, count=1):
    """Counts `count` more images; logs when a line is due or all are done."""
    before, self.done = self.done, self.done + count
    now = self._clock()
    crossed_mark = before // self._every != self.done // self._every
    if (crossed_mark or self.done >= self.total or
        now - self._last_line >= self._max_seconds):
      self._last_line = now
      self._log(self.line(now))

  def line(self, now=None):
    """`Converted done/total images (P%), R images/sec, ETA h:mm:ss`."""
    elapsed = max((self._clock() if now is None else now) - self._start, 1e-6)
    rate = self.done / elapsed
    left = (self.total - self.done) / rate if rate else 0
    return 'Converted %d/%d images (%d%%), %.1f images/sec, ETA %s' % (
        self.done, self.total, 100 * self.done // max(1, self.total), rate,
        progress.format_eta(left))
