"""her_desktop: a private, local desktop voice companion."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("her-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
