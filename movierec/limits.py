"""Limits the pages and the command line tell people about before anything is built, kept
apart from the models so that reading them loads no torch."""

# Movies the closed-form item-to-item models (ease, item-kNN, newcomer, onboard) handle: their
# dense n x n solve beyond this is too big for one machine's memory.
MAX_ITEMS = 20_000
