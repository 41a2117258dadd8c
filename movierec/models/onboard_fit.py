"""The closed forms the onboarding model (:mod:`movierec.models.onboard`) is fitted with: a
ridge solve, a person's features, and the expected moments over kept ratings (the search head)
and over shown strips (the seen head), worked out exactly rather than sampled."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def ridge(gram: np.ndarray, cross: np.ndarray, l2: float) -> np.ndarray:
    regularised = gram.copy()
    regularised[np.diag_indices_from(regularised)] += l2
    return np.linalg.solve(regularised, cross)


def rating_features(x: sp.csr_matrix, deviation: np.ndarray, slot: np.ndarray,
                     n_features: int) -> sp.csr_matrix:
    """One sparse feature row per training rating (CSR order of ``x``): its weight at the
    movie's column and, for a pool movie, its stars at the movie's pool column."""
    n_ratings = len(x.data)
    pool_slot = slot[x.indices]
    in_pool = np.flatnonzero(pool_slot >= 0)
    rows = np.concatenate([np.arange(n_ratings), in_pool])
    columns = np.concatenate([x.indices, x.shape[1] + pool_slot[in_pool]])
    values = np.concatenate([x.data, deviation[in_pool]])
    return sp.csr_matrix((values, (rows, columns)), shape=(n_ratings, n_features))


def search_moments(rating_rows: sp.csr_matrix, per_user: np.ndarray, liked: sp.csr_matrix,
                    own_liked: sp.csr_matrix, given: tuple[int, ...], n_users: int) \
        -> tuple[np.ndarray, np.ndarray]:
    """The Gram matrix and right-hand side of the searchers' regression, in expectation over
    which ``K`` ratings each person keeps (each with chance ``q = min(K / n_u, 1)``, averaged
    over ``given``): two different ratings are both kept with ``E[q^2]``, one rating with
    ``E[q]``, and a rating kept while a liked movie is hidden with ``E[q(1 - q)]`` (never
    the same rating). The constant feature is always there."""
    n_ratings = rating_rows.shape[0]
    owner = sp.csr_matrix((np.ones(n_ratings), (per_user, np.arange(n_ratings))),
                          shape=(n_users, n_ratings))
    per_person = (owner @ rating_rows).tocsr()
    sizes = np.maximum(np.bincount(per_user, minlength=n_users), 1).astype(np.float64)
    kept = np.minimum(np.asarray(given, dtype=np.float64)[:, None] / sizes[None, :], 1.0)
    both, one, kept_hidden = (kept ** 2).mean(0), kept.mean(0), (kept * (1 - kept)).mean(0)
    gram = np.asarray((per_person.T @ sp.diags(both) @ per_person).toarray())
    gram += np.asarray((rating_rows.T @ sp.diags((one - both)[per_user]) @ rating_rows)
                       .toarray())
    expected = np.asarray(per_person.T @ one).ravel()
    gram[:, -1] += expected
    gram[-1, :] += expected
    gram[-1, -1] = n_users
    cross = np.asarray((per_person.T @ sp.diags(kept_hidden) @ liked).toarray())
    cross -= np.asarray((rating_rows.T @ sp.diags(kept_hidden[per_user]) @ own_liked)
                        .toarray())
    cross[-1] = np.asarray(liked.T @ (1 - one)).ravel()
    return gram, cross


def seen_moments(seen: np.ndarray, weight: np.ndarray, deviation: np.ndarray,
                  chances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Gram matrix and right-hand side of the seen head's regression, in expectation over
    strips that show each pool movie independently with chance ``c`` (averaged over
    ``chances``): a shown movie the person rated is answered with its weight and stars, any
    other shown movie is skipped, and the targets are the pool movies they have seen among
    those not shown.

    Args:
        seen: ``(users, P)`` whether each person rated each pool movie.
        weight, deviation: ``(users, P)`` the rating's weight and stars (0 where not seen).
        chances: the chances of a movie being shown.
    Returns:
        ``(3P + 1, 3P + 1)`` and ``(3P + 1, P)`` arrays (features: weights, stars, skips, 1).
    """
    n_users, p = seen.shape
    users, slots = np.nonzero(np.ones_like(seen, dtype=bool))
    was_seen = seen.ravel()
    rows = np.concatenate([np.flatnonzero(was_seen), np.flatnonzero(was_seen),
                           np.flatnonzero(~was_seen)])
    columns = np.concatenate([slots[was_seen], p + slots[was_seen], 2 * p + slots[~was_seen]])
    values = np.concatenate([weight.ravel()[was_seen], deviation.ravel()[was_seen],
                             np.ones(int((~was_seen).sum()))])
    answers = sp.csr_matrix((values, (rows, columns)), shape=(len(users), 3 * p + 1))
    owner = sp.csr_matrix((np.ones(len(users)), (users, np.arange(len(users)))),
                          shape=(n_users, len(users)))
    per_person = (owner @ answers).tocsr()
    both, one = float((chances ** 2).mean()), float(chances.mean())
    kept_hidden = float((chances * (1 - chances)).mean())
    gram = both * np.asarray((per_person.T @ per_person).toarray())
    gram += (one - both) * np.asarray((answers.T @ answers).toarray())
    expected = one * np.asarray(per_person.sum(0)).ravel()
    gram[:, -1] += expected
    gram[-1, :] += expected
    gram[-1, -1] = n_users
    targets = sp.csr_matrix(seen.astype(np.float64))
    own = sp.csr_matrix((was_seen.astype(np.float64), (np.arange(len(users)), slots)),
                        shape=(len(users), p))
    cross = kept_hidden * (np.asarray((per_person.T @ targets).toarray())
                           - np.asarray((answers.T @ own).toarray()))
    cross[-1] = (1 - one) * seen.sum(0)
    return gram, cross
