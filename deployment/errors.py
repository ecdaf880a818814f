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
