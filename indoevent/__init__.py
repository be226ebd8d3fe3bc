"""indoevent: actors and events (PLOVER) from Indonesian news."""

__version__ = "0.1.0"
