"""indoevent: actors and events (PLOVER) from Indonesian news."""

__version__ = "0.1.0"

# `indoevent.train(config) -> Path`. Imported eagerly (the module itself imports no torch) so that
# `indoevent.train` is the function even after `indoevent.train`'s module has been imported.
from .train import train  # noqa: E402, F401


def __getattr__(name: str):
    # Lazy: `import indoevent` stays light (no torch); `from indoevent import Extractor` loads it.
    if name in ("Extractor", "Article"):
        from . import extract

        return getattr(extract, name)
    raise AttributeError(f"module 'indoevent' has no attribute {name!r}")
