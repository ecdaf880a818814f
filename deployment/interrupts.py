"""Ctrl-C and SIGTERM end a run cleanly, with exit status 128 + signal.

`common_flags.run_main` installs the handler (`install`) for every script:

* anywhere, a signal raises `Interrupted` (a KeyboardInterrupt, so every
  `finally` and `with` runs: staging folders and temporaries go), and
  `run_main` prints one line and exits 130 (SIGINT) or 143 (SIGTERM);
* inside `deferred()`, the first signal only marks a stop as requested
  (`requested()`): the training finishes its step, saves and stops; a file
  swap finishes its renames. A second signal raises at once.

Library code that runs without `install` (tests, notebooks) keeps Python's
own behaviour: the sections still work, Ctrl-C raises KeyboardInterrupt.
"""

import contextlib
import signal
import sys
import threading

SIGNAL_NAMES = {signal.SIGINT: 'SIGINT (Ctrl-C)', signal.SIGTERM: 'SIGTERM'}
_HANDLED = (signal.SIGINT, signal.SIGTERM)

# How many deferred() sections are open, and the signal they postponed.
_state = {'depth': 0, 'pending': None}


class Interrupted(KeyboardInterrupt):
  """The run was stopped by a signal; `message` says what was kept."""

  def __init__(self, signum=signal.SIGINT, message=''):
    super(Interrupted, self).__init__(message)
    self.signum = signum
    self.message = message

  @property
  def exit_status(self):
    return 128 + int(self.signum)


def describe(error):
  """'stopped by SIGINT (Ctrl-C): <what was kept>' for a KeyboardInterrupt."""
  signum = getattr(error, 'signum', signal.SIGINT)
  message = getattr(error, 'message', '') or (
      'stopped before the end; outputs are written whole or not at all, so '
      'rerun the same command to start again')
  return 'stopped by %s: %s' % (SIGNAL_NAMES.get(signum, signum), message)


def exit_status(error):
  """128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
  return 128 + int(getattr(error, 'signum', signal.SIGINT))


def _handle(signum, unused_frame):
  if _state['depth'] and _state['pending'] is None:
    _state['pending'] = signum
    sys.stderr.write('%s received: stopping cleanly at the end of this step '
                     '(send it again to stop at once)\n' %
                     SIGNAL_NAMES.get(signum, signum))
    sys.stderr.flush()
    return
  raise Interrupted(signum)


def install():
  """Handles SIGINT and SIGTERM as above (from the main thread only)."""
  if threading.current_thread() is not threading.main_thread():
    return
  for signum in _HANDLED:
    signal.signal(signum, _handle)


def requested():
  """The signal a `deferred()` section postponed, or None."""
  return _state['pending']


@contextlib.contextmanager
def deferred(raise_at_end=True):
  """A section the first signal does not cut; see the module docstring.

  Args:
    raise_at_end: on leaving the outermost section, raise `Interrupted` for
      a signal it postponed; False leaves that to the caller (`requested`).
  """
  if not _state['depth']:
    _state['pending'] = None  # a new section: earlier requests are done
  _state['depth'] += 1
  try:
    yield
  finally:
    _state['depth'] -= 1
  if not _state['depth'] and raise_at_end and _state['pending'] is not None:
    raise Interrupted(_state['pending'])
