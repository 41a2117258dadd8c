"""Hyperparameter search studies on Optuna: search spaces (:mod:`.space`), what a trial is
scored on (:mod:`.objectives`), running a study and testing its best setting once
(:mod:`.study`), and studies run in the background for the dashboard (:mod:`.jobs`).

Only :mod:`.study` and :mod:`.jobs` import Optuna, so the models can declare their spaces
with :mod:`.space` without it."""
