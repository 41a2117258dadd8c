"""Every evaluation protocol in one place, each a function of a run (or model) and data that
returns numbers or a table:

- ``metrics``: rating-prediction metrics (RMSE, MAE, accuracy) as pure functions;
- ``baselines``: the global-mean and user+movie-bias predictors every model must beat;
- ``ranking``: top-N with the NCF protocol (one held-out movie ranked among 100: HR@10,
  NDCG@10);
- ``ncf``: the NCF paper's exact test, read from its published ``test.rating`` and
  ``test.negative`` files (the same HR@10 and NDCG@10 on the paper's own candidates);
- ``people``: the new-person protocol (people never seen in training give K ratings and get
  10 suggestions: precision, recall, NDCG, popularity share, distinct movies, novelty), with
  the most-rated list, item-kNN and EASE as references;
- ``neighbours``: neighbour quality of the movie vectors (genre agreement and the series
  check, against chance and item-kNN), with ``series`` finding film series from titles.
"""
