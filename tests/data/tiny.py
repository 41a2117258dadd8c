"""Tiny files in each real MovieLens format, written by the tests (never copied from a release)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

# Made-up ratings and movies, shaped like the real files. The latin-1 titles check decoding.
DAT_RATINGS = "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n" \
              "2::30::1::978300275\n3::20::2::978824291\n"
DAT_MOVIES = "10::Caf\xe9 Lumi\xe8re (1999)::Drama|Romance\n" \
             "20::Toy Robots, The (1995)::Animation|Children's|Comedy\n" \
             "30::Heat Wave (1995)::Action|Crime|Thriller\n"
DAT_USERS = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n"

U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t891717742\n2\t10\t4\t878887116\n" \
         "2\t30\t1\t880606923\n3\t20\t2\t886397596\n"
U_GENRE = "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\n" \
          "Documentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\n" \
          "Romance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n"


def _u_item_line(movie_id: int, title: str, flags: set[int]) -> str:
    bits = "|".join("1" if i in flags else "0" for i in range(19))
    return f"{movie_id}|{title}|01-Jan-1995||http://example.invalid/{movie_id}|{bits}\n"


U_ITEM = (_u_item_line(10, "Mis\xe9rables, Les (1995)", {8, 12})
          + _u_item_line(20, "Toy Robots (1995)", {3, 4, 5})
          + _u_item_line(30, "unknown", {0}))
U_USER = "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n"

CSV_RATINGS = "userId,movieId,rating,timestamp\n1,10,4.0,964982703\n1,20,3.5,964981247\n" \
              "2,10,0.5,964982224\n2,30,5.0,964983815\n3,20,2.5,964982931\n"
CSV_MOVIES = 'movieId,title,genres\n10,"Caf\xe9, The (Le Caf\xe9) (2001)",Comedy|Drama\n' \
             "20,Toy Robots (1995),Adventure|Animation|Children\n" \
             "30,Untitled Short,(no genres listed)\n"


def files_for(name: str) -> dict[str, bytes]:
    """The files of a tiny copy of release ``name`` (ml-1m, ml-100k or ml-latest-small)."""
    if name == "ml-1m":
        return {"ratings.dat": DAT_RATINGS.encode("latin-1"),
                "movies.dat": DAT_MOVIES.encode("latin-1"),
                "users.dat": DAT_USERS.encode("latin-1")}
    if name == "ml-10m":
        return {"ratings.dat": b"1::10::4.5::838985046\n1::20::5::838983525\n2::30::0.5::1\n",
                "movies.dat": "10::Am\u00e9lie (2001)::Comedy|Romance\n20::Heat (1995)::Action\n"
                              "30::Unknown Film::(no genres listed)\n".encode("utf-8")}
    if name == "ml-100k":
        return {"u.data": U_DATA.encode(), "u.item": U_ITEM.encode("latin-1"),
                "u.user": U_USER.encode(), "u.genre": U_GENRE.encode()}
    if name == "ml-latest-small":
        return {"ratings.csv": CSV_RATINGS.encode(), "movies.csv": CSV_MOVIES.encode("utf-8")}
    raise ValueError(name)


def write_folder(root: Path, name: str, files: dict[str, bytes] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for fname, data in (files or files_for(name)).items():
        (folder / fname).write_bytes(data)
    return folder


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def release_zip(name: str, folder: str | None = None) -> bytes:
    """A zip laid out like GroupLens' (files under the release's top folder)."""
    top = folder or name
    return zip_bytes({f"{top}/{k}": v for k, v in files_for(name).items()})


UNRATED_MOVIE = 9999   # in the generated NCF test below, a negative nobody rated


def write_ncf_dataset(root: Path, n_users: int = 30, n_movies: int = 40, per_user: int = 15,
                      n_negatives: int = 20, seed: int = 0) -> Path:
    """A generated ml-1m folder in ``root`` (``ratings.dat`` with distinct real timestamps,
    ``movies.dat``) and its NCF test in ``root/ncf-ml-1m``: ``test.rating`` holds every
    user's latest rating, ``test.negative`` that movie and ``n_negatives`` movies the user
    never rated. User 1's negatives repeat the held-out movie and user 2's hold
    :data:`UNRATED_MOVIE`, as the published file's quirks do.

    Returns:
        the ``ncf-ml-1m`` folder.
    """
    rng = np.random.default_rng(seed)
    movies = np.arange(1, n_movies + 1) * 3
    ratings, held, negatives = [], [], []
    stamp = 978_300_000
    for user in range(1, n_users + 1):
        rated = rng.choice(movies, per_user, replace=False)
        for movie in rated:
            stamp += int(rng.integers(1, 1000))
            ratings.append(f"{user}::{movie}::{rng.integers(1, 6)}::{stamp}")
        held.append(ratings[-1])
        unrated = rng.choice(np.setdiff1d(movies, rated), n_negatives, replace=False)
        if user == 1:
            unrated[3] = rated[-1]
        if user == 2:
            unrated[0] = UNRATED_MOVIE
        negatives.append("\t".join(map(str, [user, rated[-1], *unrated])))
    order = rng.permutation(len(ratings))    # the file's order is not the time order
    write_folder(root, "ml-1m", {
        "ratings.dat": "\n".join(ratings[i] for i in order).encode() + b"\n",
        "movies.dat": "".join(f"{m}::Movie {m} (1999)::Drama\n" for m in movies).encode()})
    folder = root / "ncf-ml-1m"
    folder.mkdir()
    (folder / "test.rating").write_text("\n".join(held) + "\n")
    (folder / "test.negative").write_text("\n".join(negatives) + "\n")
    return folder
