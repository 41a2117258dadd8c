"""Data page: choose a MovieLens release, get it (download or upload), see its numbers, and set
the share of ratings to use and to hold out."""

import tempfile
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from movierec.config import DataConfig
from movierec.data import download, install_zip
from movierec.errors import ConfigError, MovieRecError
from movierec.limits import MAX_ITEMS
from movierec.split import split_sizes
from ui import cache, catalog, nav, state

nav.through_app()
st.title("Data")
st.caption("Pick a MovieLens release and the slice of it to learn from.")

names = catalog.dataset_names()
if state.get(state.DATASET) not in names:
    state.put(state.DATASET, state.DEFAULTS[state.DATASET])
state.put("data_dataset_select", state.get(state.DATASET))
name = st.selectbox("Dataset", names, format_func=catalog.dataset_label, key="data_dataset_select",
                    on_change=lambda: state.put(state.DATASET, state.get("data_dataset_select")))
release = catalog.release(name)
st.caption(catalog.dataset_note(name))

if not cache.present(name):
    st.warning(f"**{name}** is not in the data folder `{cache.data_dir()}` yet.")
    get_it, upload_it = st.columns(2)
    with get_it:
        st.markdown(f"**Download** it from GroupLens (about {release.zip_mb:g} MB).")
        if st.button(f"Download {name}", type="primary"):
            bar = st.progress(0.0, text="connecting...")

            def show(done: int, total: int | None) -> None:
                if total:
                    bar.progress(min(done / total, 1.0),
                                 text=f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
                else:
                    bar.progress(0.0, text=f"{done / 1e6:.1f} MB")

            try:
                download(release, cache.data_dir(), progress=show)
            except MovieRecError as exc:
                bar.empty()
                st.error(f"The download did not work: {exc}")
                state.put(state.OFFLINE, True)
            else:
                st.success(f"{name} is ready.")
                st.rerun()
    with upload_it:
        st.markdown("**Upload** a GroupLens zip you already have (ml-1m.zip, ml-100k.zip...).")
        uploaded = st.file_uploader("GroupLens zip", type=["zip"], key="data_upload")
        if uploaded is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "upload.zip"
                path.write_bytes(uploaded.getbuffer())
                try:
                    folder = install_zip(path, cache.data_dir())
                except MovieRecError as exc:
                    st.error(f"That file cannot be used: {exc}")
                else:
                    state.put(state.DATASET, folder.name)
                    st.success(f"Installed {folder.name} from {uploaded.name}.")
                    st.rerun()
    st.info("No internet here? The **demo** set is generated offline: synthetic people with "
            "planted genre tastes, so that every page works without MovieLens.")
    if st.button("Use the synthetic demo set", type="primary"
                 if state.get(state.OFFLINE) else "secondary"):
        state.put(state.DATASET, "demo")
        st.rerun()
    st.stop()

try:
    with st.spinner(f"Loading {name}..."):
        stats = cache.dataset_stats(name)
except MovieRecError as exc:
    st.error(f"{name} cannot be read: {exc}")
    st.stop()

summary = stats["summary"]
if summary["synthetic"]:
    st.warning("**Synthetic data.** These people, movies and ratings were generated offline "
               "with planted tastes; they are not MovieLens.", icon=":material/science:")
cols = st.columns(5)
cols[0].metric("Users", f"{summary['users']:,}")
cols[1].metric("Rated movies", f"{summary['movies']:,}")
cols[2].metric("Ratings", f"{summary['ratings']:,}")
cols[3].metric("Sparsity", f"{1 - summary['density']:.2%}",
               help="Share of user x movie pairs without a rating.")
cols[4].metric("Mean rating", f"{summary['mean_rating']:.2f}")
st.caption(f"Read from `{stats['source']}`.")

left, right = st.columns(2)
with left:
    st.subheader("Stars given")
    st.altair_chart(alt.Chart(stats["stars"]).mark_bar().encode(
        x=alt.X("stars:O", title="stars"), y=alt.Y("ratings:Q", title="ratings"),
        tooltip=["stars", alt.Tooltip("ratings:Q", format=",")]), width="stretch")
with right:
    st.subheader("Genres")
    st.altair_chart(alt.Chart(stats["genres"]).mark_bar().encode(
        x=alt.X("movies:Q", title="movies"), y=alt.Y("genre:N", sort="-x", title=None),
        tooltip=["genre", "movies"]), width="stretch")

st.subheader("The long tail")
st.caption("Ratings per user and per movie, sorted from the most active down (both axes log "
           "scale): a few users and movies have most of the ratings.")
tail = pd.concat([stats[key].assign(who=who)
                  for who, key in (("per user", "per_user"), ("per movie", "per_movie"))])
st.altair_chart(alt.Chart(tail).mark_line().encode(
    x=alt.X("rank:Q", title="rank (log scale)", scale=alt.Scale(type="log")),
    y=alt.Y("ratings:Q", scale=alt.Scale(type="log"),
                                             title="ratings"),
    color=alt.Color("who:N", title=None), tooltip=["who", "rank", "ratings"]),
    width="stretch")

st.subheader("Most-rated movies")
st.dataframe(stats["top"], hide_index=True, width="stretch", column_config={
    "n_ratings": st.column_config.NumberColumn("ratings", format="%d"),
    "mean_rating": st.column_config.NumberColumn("mean stars", format="%.2f")})

st.subheader("What to train on")
c1, c2, c3, c4, c5 = st.columns(5)
fraction = c1.slider("Share of ratings to use", 0.01, 1.0, float(state.get(state.FRACTION)),
                     0.01, help="The notebook's chop: a seeded random sample of the ratings.")
splits = {"random": "random share", "leave-one-out": "one per user"}
current = state.get(state.SPLIT)   # the page offers these two; ncf is for the command line
split_kind = c2.radio("Hold out", list(splits),
                      index=list(splits).index(current) if current in splits else 0,
                      format_func=splits.get, horizontal=True,
                      help="A random share of the ratings (the notebook's split), or one rating "
                           "per user (the latest, where ratings are dated): the NCF protocol "
                           "behind HR@10 and NDCG@10.")
validation_size = c3.slider("Share held out for validation", 0.01, 0.5,
                      float(state.get(state.VALIDATION_SIZE)), 0.01,
                      help="The notebook's split(.10).", disabled=split_kind != "random")
new_people = c4.number_input(
    "New people held out", 0, 100_000, int(state.get(state.NEW_PEOPLE)), 100,
    help="People left out of training entirely. After training, each gives 3, 5 and 10 of "
         "their ratings and gets suggestions, judged on the rest: how good the suggestions are "
         "for someone new, shown on the Recommend and Learning curves pages.")
seed = c5.number_input("Seed", 0, 2**31 - 1, int(state.get(state.SEED)), 1)
large = summary["movies"] > MAX_ITEMS
with st.expander("Large data: fewer movies or people", expanded=large or bool(
        state.get(state.MAX_MOVIES) or state.get(state.MAX_USERS))):
    d1, d2 = st.columns(2)
    max_movies = d1.number_input(
        "Keep only the most rated movies (0: all)", 0, 10_000_000,
        int(state.get(state.MAX_MOVIES) or 0), 1000,
        help=f"ease and newcomer (the recommended preset) keep a movies x movies matrix and "
             f"handle up to {MAX_ITEMS:,} movies; on MovieLens 32M, 8,000 fit in 8 GB.")
    max_users = d2.number_input(
        "Keep a random sample of people (0: all)", 0, 100_000_000,
        int(state.get(state.MAX_USERS) or 0), 10_000,
        help="ease's and newcomer's solve grows with the square of each person's ratings: on "
             "MovieLens 32M, 50,000 people take about two minutes.")
    if large:
        st.caption(f"{name} rates {summary['movies']:,} movies: more than ease and newcomer "
                   f"handle ({MAX_ITEMS:,}). mf, seednet, bpr, autorec and ials take them all.")
try:
    config = DataConfig(name, fraction, validation_size, int(seed), split_kind, int(new_people),
                        max_movies=int(max_movies), max_users=int(max_users))
    if split_kind == "random" and not new_people and not max_movies and not max_users:
        n_train, n_validation = split_sizes(summary["ratings"], fraction, validation_size)
        n_people = held = 0
    else:
        n_train, n_validation, n_people, held = cache.split_counts(config)
except ConfigError as exc:
    st.error(str(exc))
else:
    state.put(state.FRACTION, fraction)
    state.put(state.VALIDATION_SIZE, validation_size)
    state.put(state.SEED, int(seed))
    state.put(state.SPLIT, split_kind)
    state.put(state.NEW_PEOPLE, int(new_people))
    state.put(state.MAX_MOVIES, int(max_movies))
    state.put(state.MAX_USERS, int(max_users))
    st.success(f"Training on **{n_train:,}** ratings, validating on **{n_validation:,}**"
               + (f"; **{n_people:,}** new people held out with their {held:,} ratings."
                  if n_people else "."))
    nav.link("train", "Next: train a model")
