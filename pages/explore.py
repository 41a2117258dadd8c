"""Explore page: the selected run's movie embeddings on a t-SNE (or PCA) map; search or click a
movie to see its nearest neighbours by cosine similarity."""

import time

import altair as alt
import numpy as np
import streamlit as st

from movierec.embeddings import ProjectionConfig
from movierec.errors import MovieRecError
from movierec.inference import find_movies, similar
from ui import cache, nav, state, views

SHOWN_AT_FIRST = 5_000

nav.through_app()
st.title("Explore")
st.caption("Each dot is a movie placed by its learned embedding: movies the model treats alike "
           "sit together. Click one, or search for it, to list its nearest neighbours.")

run = views.pick_run(state.MAP_RUN, "Run whose map is shown", cache.best_map_run)
st.caption(f"{run.model_name} on {run.data_config.dataset}"
           f"{', synthetic data' if run.synthetic else ''}. Opens on the run with the most "
           "meaningful map.")
try:
    with st.spinner("Measuring how alike each movie's neighbours are (once per run)..."):
        neighbour_table = cache.neighbour_quality(run.run_id)
except MovieRecError as exc:
    st.info(f"How meaningful this map is cannot be measured: {exc}")
else:
    views.map_quality(neighbour_table)

c1, c2, c3, c4 = st.columns(4)
method = c1.radio("Projection", ["t-SNE", "PCA"], horizontal=True, key="explore_method",
                  help="t-SNE keeps neighbourhoods; PCA is instant but blurs them.")
perplexity = c2.slider("Perplexity", 5, 50, 30, key="explore_perplexity",
                       disabled=method == "PCA", help="Roughly how many neighbours t-SNE "
                       "tries to keep together.")
iterations = c3.slider("Iterations", 150, 1000, 300, 50, key="explore_iterations",
                       disabled=method == "PCA")
colour_by = c4.radio("Colour by", ["genre", "year", "popularity"], horizontal=True,
                     key="explore_colour")
config = ProjectionConfig(method="pca" if method == "PCA" else "tsne",
                          perplexity=float(perplexity), iterations=int(iterations))
n_rated = int((run.item_counts > 0).sum())
n_placed = min(n_rated, config.max_movies)
placing = f"Placing {n_placed:,} movies with {method}" + (
    f" (the {n_placed:,} most rated of {n_rated:,})" if n_placed < n_rated else "")
try:
    started = time.perf_counter()
    if cache.map_stored(run.run_id, config) or config.method == "pca":
        with st.spinner(f"{placing}..."):
            movies = cache.movie_map_for(run.run_id, config)
    else:
        bar = st.progress(0.0, text=f"{placing}: finding each movie's neighbours (saved with "
                                    "the run afterwards)...")

        def show(done: int, total: int) -> None:
            bar.progress(done / total, text=f"{placing}: step {done} of {total}")

        movies = cache.movie_map_for(run.run_id, config, progress=show)
        bar.empty()
    took = time.perf_counter() - started
except MovieRecError as exc:
    st.error(f"The map cannot be drawn: {exc}")
    st.stop()

most = int(movies["n_ratings"].max())
# Open on at most SHOWN_AT_FIRST dots: tens of thousands make the browser's chart sluggish.
counts = np.sort(movies["n_ratings"].to_numpy())[::-1]
enough = int(counts[SHOWN_AT_FIRST - 1]) + 1 if len(counts) > SHOWN_AT_FIRST else 1
top = max(1, min(most, max(500, enough)))
min_ratings = st.slider("Only movies with at least this many training ratings", 1, top,
                        min(top, max(20 if most >= 200 else max(1, most // 10), enough)),
                        key="explore_min_ratings")
shown = movies[movies["n_ratings"] >= min_ratings].copy()
shown["genres_text"] = shown["genres"].map(", ".join)
shown["year"] = shown["year"].astype("float")
st.caption(f"{len(shown):,} of {len(movies):,} movies shown; map ready in {took:.1f} s.")

query = st.text_input("Find a movie", key="explore_query", placeholder="e.g. the matrix")
if query:
    matches = find_movies(shown, query, limit=20)
    if matches.empty:
        st.warning(f"No shown movie matches {query!r} (lower the rating filter?).")
    else:
        picked = st.selectbox("Matches (most rated first)", matches["movie_id"].tolist(),
                              format_func=lambda m: matches.set_index("movie_id").loc[m, "title"],
                              key="explore_match")
        state.put(state.MAP_MOVIE, int(picked))

selected = state.get(state.MAP_MOVIE)
if selected is not None and selected not in set(shown["movie_id"]):
    selected = None
neighbours = None
if selected is not None:
    neighbours = similar(run, selected, top=10, min_ratings=min_ratings)
    shown["role"] = "other"
    shown.loc[shown["movie_id"].isin(neighbours["movie_id"]), "role"] = "neighbour"
    shown.loc[shown["movie_id"] == selected, "role"] = "selected"
else:
    shown["role"] = "other"

if colour_by == "genre":
    colour = alt.Color("genre:N", title="genre", scale=alt.Scale(scheme="tableau20"))
elif colour_by == "year":
    colour = alt.Color("year:Q", title="year", scale=alt.Scale(scheme="viridis"))
else:
    colour = alt.Color("n_ratings:Q", title="ratings", scale=alt.Scale(type="log",
                                                                       scheme="oranges"))
pick = alt.selection_point(name="pick", fields=["movie_id"], on="click")
tooltip = ["title:N", alt.Tooltip("year:Q", format="d"), alt.Tooltip("genres_text:N",
                                                                     title="genres"),
           alt.Tooltip("n_ratings:Q", title="ratings", format=",")]
base = alt.Chart(shown).encode(
    x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None), tooltip=tooltip)
dots = base.mark_circle(opacity=0.65).encode(
    color=colour, size=alt.Size("n_ratings:Q", title="ratings", scale=alt.Scale(range=[8, 300]),
                                legend=None)).add_params(pick)
layers = [dots]
if selected is not None:
    layers.append(base.transform_filter(alt.datum.role != "other").mark_point(
        filled=False, color="black", strokeWidth=2).encode(
        size=alt.condition(alt.datum.role == "selected", alt.value(400), alt.value(150))))
    layers.append(base.transform_filter(alt.datum.role == "selected").mark_text(
        align="left", dx=12, dy=-8, fontSize=13, fontWeight="bold").encode(text="title:N"))
chart = alt.layer(*layers).properties(height=620).interactive()
event = st.altair_chart(chart, width="stretch", on_select="rerun", selection_mode="pick",
                        key="explore_map")
clicked = (event or {}).get("selection", {}).get("pick") if event else None
if clicked:
    movie_id = int(clicked[0]["movie_id"])
    if movie_id != selected:
        state.put(state.MAP_MOVIE, movie_id)
        st.rerun()

if neighbours is not None:
    title = shown.set_index("movie_id").loc[selected, "title"]
    st.subheader(f"Nearest neighbours of {title}")
    table = neighbours.assign(genres=neighbours["genres"].map(", ".join))
    st.dataframe(table[["title", "year", "genres", "similarity", "n_ratings"]], hide_index=True,
                 width="stretch", column_config={
                     "similarity": st.column_config.ProgressColumn(
                         "cosine similarity", min_value=-1.0, max_value=1.0, format="%.3f"),
                     "n_ratings": st.column_config.NumberColumn("ratings", format="%d"),
                     "year": st.column_config.NumberColumn("year", format="%d")})
else:
    st.info("Click a movie on the map, or search for one, to see its nearest neighbours.")
