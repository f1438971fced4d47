"""The training page (``mrasim ui``)."""

DEFAULT_PORT = 18900  # the training page's port (mrasim ui --port)
