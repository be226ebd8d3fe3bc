"""indoevent: actors and events (PLOVER) from Indonesian news.

``import indoevent`` is light (no torch, no yaml): ``indoevent.train`` and
``indoevent.Extractor`` are loaded on first use.
"""

__version__ = "0.1.0"

_LAZY = {"train": ("indoevent.model.train", "train"), "Extractor": ("indoevent.events.extractor", "Extractor"),
         "Predictor": ("indoevent.model.predict", "Predictor")}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'indoevent' has no attribute {name!r}")
