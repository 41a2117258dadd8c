"""Loading the heavy libraries in the background, so that the first page shows without waiting
for them and the pages after it find them loaded."""

from __future__ import annotations

import gc
import importlib
import threading

import streamlit as st

# torch._dynamo: the first optimiser of a process (the fold-in warm-up) imports it, 1.5 s.
HEAVY_MODULES = ("movierec.jobs", "movierec.inference", "movierec.embeddings", "torch._dynamo")


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import torch and scikit-learn in the background, once per server. app.py calls this
    after the first page has run, so that page shows without waiting for them (or sharing the
    CPU with them) and the pages after it find them loaded."""
    def load() -> None:
        for name in HEAVY_MODULES:
            importlib.import_module(name)
        import torch

        # An optimiser's first step imports another part of torch (about 2 s); take it now.
        weight = torch.zeros(1, requires_grad=True)
        torch.optim.LBFGS([weight], max_iter=1).step(lambda: (weight - 1).square().sum())
        # What is loaded now (the libraries: hundreds of thousands of objects) lives as long as
        # the server: out of the collector's full passes with it, so they cost what the pages
        # make rather than the whole heap.
        gc.collect()
        gc.freeze()

    thread = threading.Thread(target=load, name="movierec-warm-up", daemon=True)
    thread.start()
    return thread
