"""The one exception the library raises for input the user can fix.

Scripts (`common_flags.run_main`) print it as one `ERROR:` line and exit 1,
so its message is one line naming the flag or file and what to do.
"""


class UserError(Exception):
  """A problem the user can fix (a flag value, a missing file).

  The message is one line naming the flag or file and what to do about it.
  """


def one_line(error):
  """The text of an exception (or string) squeezed onto one line."""
  return ' '.join(str(error).split())


def tensorflow_reason(error):
  """What a TensorFlow error says, without its graph traceback, on one line.

  A graph-mode `OpError` wraps its cause ('...; File too large') in
  'Graph execution error:', the Python stack the op was defined at and
  '[[{{node ...}}]]' markers.
  """
  text = str(getattr(error, 'message', None) or error)
  lines = text.splitlines()
  node_lines = [i for i, line in enumerate(lines) if line.startswith('Node: ')]
  if node_lines:
    lines = lines[node_lines[-1] + 1:]
  kept = [line for line in lines
          if line.strip() and '[[{{node' not in line and
          not line.startswith('Graph execution error')]
  return one_line(' '.join(kept)) or type(error).__name__
