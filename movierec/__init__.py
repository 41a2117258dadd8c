"""movierec: learn movie recommenders from MovieLens ratings and use them (library and CLI)."""

__version__ = "0.1.0"
