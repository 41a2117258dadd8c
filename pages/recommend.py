"""Recommend page: rate a few movies (search them, or answer a strip of popular ones that follows
your answers) and get suggestions from the selected run, fitted to you without changing the
model."""

import time

import pandas as pd
import streamlit as st

from movierec.errors import MovieRecError
from movierec.inference import because, find_movies, recommend
from movierec.jobs import ACTIVE, JobSpec
from movierec.person import read_person_ratings, write_person_ratings
from movierec.recipe import make_recipe
from ui import cache, nav, state, views

SHOWN = 12        # movies on the strip
POPULAR_REASON = "popular with people like you"

nav.through_app()
st.title("Recommend")
st.caption("Rate a few movies you know, or say which of the picks you haven't seen; the "
           "suggestions follow your taste from the first answer (the model itself never "
           "changes).")

if state.selected_run_id() is None:
    st.info("No model is trained yet. One click trains the recommended one right here: the "
            "onboarding model, built for people who have rated only a few movies, whether they "
            "answer the picks below or search for their own (about 30 s on MovieLens 1M, then "
            "about 40 s to measure its suggestions on 600 people it never saw).")
    recipe = make_recipe("recommended")
    if not cache.present(recipe.data.dataset):
        st.warning("MovieLens 1M is not in the data folder, so this trains on the **synthetic "
                   "demo** set. Get real data on the Data page.")
        nav.link("data", "Get MovieLens")
        recipe = make_recipe("recommended", data={"dataset": "demo", "new_people": 100})
    status = views.training_status()
    if status not in ACTIVE and st.button(f"Train the recommended model on "
                                          f"{recipe.data.dataset}", type="primary"):
        job = cache.jobs().submit(JobSpec.of(recipe))
        state.put(state.JOB_KEY, job.key)
        st.rerun()
    st.stop()

run = nav.guard_run()
scale = run.rating_scale
whole_stars = all(float(s).is_integer() for s in scale) and len(scale) == 5
ratings = state.my_ratings(run.data_config.dataset)
skipped = state.my_skips(run.data_config.dataset)
table = run.movies_by_id()
st.write(f"Suggestions from run **{run.run_id}** ({run.model_name} on "
         f"{run.data_config.dataset}). Pick another on the Train page.")
if run.synthetic:
    st.warning("This run learned from **synthetic** data: titles and tastes are made up.")
views.suggestion_quality(cache.quality(run.run_id), model=run.model_name)


def _widget(prefix: str, movie_id: int) -> str:
    return f"rate_{prefix}_{movie_id}"


def _set_rating(prefix: str, movie_id: int) -> None:
    value = state.get(_widget(prefix, movie_id))
    if value is None:
        ratings.pop(movie_id, None)
    else:
        ratings[movie_id] = float(value + 1) if whole_stars else float(value)
        if movie_id in skipped:
            skipped.remove(movie_id)


def _skip(movie_id: int) -> None:
    if movie_id not in skipped:
        skipped.append(movie_id)


def _unskip(movie_id: int) -> None:
    if movie_id in skipped:
        skipped.remove(movie_id)


def _other_movies(shown: list[int]) -> None:
    """Move on to the next strip: the movies left unrated count as not seen. A click on a
    strip that is no longer the one shown (a second, impatient click) changes nothing."""
    if state.shown_strip(run.run_id) != shown:
        return
    for movie_id in shown:
        if movie_id not in ratings:
            _skip(movie_id)


def _import() -> None:
    """Import the file just uploaded (a callback: it runs before the page is drawn, so the
    suggestions above the uploader follow it in the same run)."""
    uploaded = state.get("rec_import")
    if uploaded is None:
        state.put(state.IMPORTED, None)
        return
    try:
        imported = read_person_ratings(uploaded.getvalue(), uploaded.name, scale)
    except MovieRecError as exc:
        state.put(state.IMPORTED, {"error": str(exc)})
        return
    ratings.update(imported)
    state.put(state.IMPORTED, {"name": uploaded.name, "count": len(imported)})


def rating_widget(container, prefix: str, movie_id: int) -> None:
    key = _widget(prefix, movie_id)
    current = ratings.get(movie_id)
    if whole_stars:
        state.put(key, None if current is None else int(current) - 1)
        container.feedback("stars", key=key, on_change=_set_rating, args=(prefix, movie_id))
    else:
        state.put(key, current)
        container.select_slider("stars", options=[None, *scale], key=key,
                                format_func=lambda v: "–" if v is None else f"{v:g}",
                                on_change=_set_rating, args=(prefix, movie_id),
                                label_visibility="collapsed")


def movie_line(row) -> str:
    year = "" if pd.isna(row["year"]) else f" · {int(row['year'])}"
    return f"**{row['title']}**  \n{', '.join(row['genres'])}{year} · {row['n_ratings']:,} ratings"


def suggestion_table(shown_run, known: dict[int, float], top: int, popular: int,
                     wanted: list[str]) -> pd.DataFrame | None:
    """``shown_run``'s suggestions with their reasons, drawn as a table; None when it cannot
    make any (the reason is shown)."""
    usable = {m: s for m, s in known.items() if m in shown_run.item_ids}
    not_seen = [m for m in skipped if m in shown_run.item_ids and m not in usable]
    if not usable and not (not_seen and shown_run.model.uses_skips):
        st.warning("This run knows none of the movies you rated.")
        return None
    try:
        started = time.perf_counter()
        result = recommend(shown_run, usable, top=top, min_ratings=popular,
                           genres=wanted or None, skipped=not_seen)
        reasons = because(shown_run, result["movie_id"].tolist(), usable)
        took = time.perf_counter() - started
    except MovieRecError as exc:
        st.error(str(exc))
        return None
    if result.empty:
        st.warning("Nothing left after these filters; loosen them.")
        return None
    titles = shown_run.movies_by_id()["title"]
    result["why"] = [f"because you rated {titles[r]}" if r is not None else POPULAR_REASON
                     for r in reasons]
    result["genres"] = result["genres"].map(", ".join)
    value = "score" if shown_run.model.output == "score" else "predicted_rating"
    shown = pd.DataFrame({
        "title": result["title"],
        "year": result["year"].map(lambda y: "" if pd.isna(y) else f"{int(y)}"),
        "ratings": result["n_ratings"].map("{:,}".format),
        **({"score": result["score"].map("{:.3f}".format)} if value == "score" else
           {"predicted ★": result["predicted_rating"].map("{:.2f}".format)}),
        "why": result["why"],
        "genres": result["genres"]})
    shown.index = range(1, len(shown) + 1)
    st.table(shown)
    told = f"your {len(usable)} ratings" + (f" and the {len(not_seen)} movies you haven't seen"
                                            if not_seen and shown_run.model.uses_skips else "")
    st.caption(f"Fitted to {told} and ranked in {took * 1000:.0f} ms. ratings: how many "
               "ratings the movie has in the training data; why: a movie you liked that it is "
               "among the 20 nearest neighbours of, else it is popular with the people whose "
               "answers are like yours" + ("; score: this model ranks and predicts no stars."
                                           if value == "score" else "."))
    return result


def suggestions(known: dict[int, float]) -> None:
    st.subheader("Suggestions for you")
    if not known and not (skipped and run.model.uses_skips):
        st.info("Rate a movie below, or tell which of the picks you haven't seen, to get "
                "suggestions.")
        return
    genres = sorted({g for gs in table["genres"] for g in gs})
    f1, f2, f3, f4 = st.columns([3, 3, 2, 3])
    wanted = f1.multiselect("Only these genres", genres, key="rec_genres")
    popular = f2.slider("Only movies with at least this many ratings", 1, 500, 10,
                        key="rec_min")
    top = f3.slider("How many", 5, 50, 10, key="rec_top")
    others = {r["run_id"]: r for r in cache.runs()
              if r["status"] == "ok" and r["run_id"] != run.run_id}
    other_id = f4.selectbox("Compare with another run", [None, *others], key=state.COMPARE_RUN,
                            format_func=lambda i: "(none)" if i is None else
                            views.run_label(others[i]))
    if other_id is None:
        suggestion_table(run, known, top, popular, wanted)
        return
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{run.run_id}** ({run.model_name})")
        mine = suggestion_table(run, known, top, popular, wanted)
    with right:
        try:
            other = cache.run(other_id)
        except MovieRecError as exc:
            st.error(f"Run {other_id} cannot be used: {exc}")
            return
        st.markdown(f"**{other_id}** ({other.model_name})")
        theirs = suggestion_table(other, known, top, popular, wanted)
        views.suggestion_quality(cache.quality(other_id), compact=True)
    if mine is not None and theirs is not None:
        common = set(mine["movie_id"]) & set(theirs["movie_id"])
        st.info(f"**{len(common)} of {len(mine)}** suggestions are on both lists"
                + (f": {', '.join(mine[mine['movie_id'].isin(common)]['title'])}."
                   if common else "."))


suggestions({m: s for m, s in ratings.items() if m in run.item_ids})
st.divider()

find, mine = st.columns([3, 2], gap="large")
with find:
    st.subheader("Rate movies")
    query = st.text_input("Search by title", key="rec_query", placeholder="e.g. matrix, the")
    if query:
        matches = find_movies(run, query, limit=8)
        if matches.empty:
            st.warning(f"No movie of this run matches {query!r}.")
        for _, row in matches.iterrows():
            a, b = st.columns([3, 2])
            a.markdown(movie_line(row))
            rating_widget(b, "search", int(row["movie_id"]))
    st.markdown("**Popular picks to start with**")
    picks = cache.strip(run.run_id)
    st.caption("Rate the ones you have seen and mark the others; when every card is answered, "
               "or you ask for other movies, the next picks "
               + ("follow your answers." if picks.adaptive else "are the next most rated."))
    shown_ids = state.shown_strip(run.run_id)
    if shown_ids is None or all(m in ratings or m in skipped for m in shown_ids):
        known_rated = {m: s for m, s in ratings.items() if m in run.item_ids}
        shown_ids = picks.next_movies(known_rated, skipped, SHOWN)["movie_id"].tolist()
        state.show_strip(run.run_id, shown_ids)
    if not shown_ids:
        st.info("You have answered every movie the picks are drawn from; search for more.")
    for start in range(0, len(shown_ids), 3):
        cols = st.columns(3)
        for col, movie_id in zip(cols, shown_ids[start:start + 3], strict=False):
            with col.container(border=True):
                st.markdown(movie_line(table.loc[movie_id]))
                rating_widget(st, "strip", movie_id)
                if movie_id in skipped:
                    st.button("Not seen · undo", key=f"unskip_{movie_id}", on_click=_unskip,
                              args=(movie_id,), help="Take back \"haven't seen it\".")
                elif movie_id not in ratings:
                    st.button("Haven't seen it", key=f"skip_{movie_id}", on_click=_skip,
                              args=(movie_id,))
    if shown_ids:
        st.button("Show me other movies", key=f"strip_next_{shown_ids[0]}", on_click=_other_movies,
                  args=(shown_ids,), help="The movies you left unrated count as not seen.")

with mine:
    known = {m: s for m, s in ratings.items() if m in run.item_ids}
    st.subheader(f"Your ratings ({len(known)})")
    not_seen = [m for m in skipped if m in run.item_ids]
    if not_seen:
        a, b = st.columns([3, 2])
        a.caption(f"{len(not_seen)} movies you haven't seen (never suggested; they tell the "
                  "model about your taste too).")
        b.button("Forget them", key="forget_skips", on_click=skipped.clear)
    unknown = len(ratings) - len(known)
    if unknown:
        st.caption(f"{unknown} of your ratings are for movies this run does not know; they are "
                   "kept but not used.")
    for movie_id, stars in sorted(known.items(), key=lambda kv: -kv[1]):
        a, b = st.columns([5, 1])
        a.markdown(f"{table.loc[movie_id, 'title']} · **{stars:g}★**")
        if b.button("✕", key=f"unrate_{movie_id}", help="Remove this rating"):
            ratings.pop(movie_id, None)
            st.rerun()
    titles = {m: table.loc[m, "title"] for m in known}
    st.download_button("Export my ratings (CSV)", write_person_ratings(known, titles),
                       file_name="my-movie-ratings.csv", mime="text/csv",
                       disabled=not known)
    st.file_uploader("Import ratings (CSV with movie_id and rating)", type=["csv"],
                     key="rec_import", on_change=_import)
    outcome = state.get(state.IMPORTED) if state.get("rec_import") is not None else None
    if outcome and outcome.get("error"):
        st.error(f"Not imported: {outcome['error']}. Your ratings are unchanged.")
    elif outcome and not outcome.get("told"):
        outcome["told"] = True
        st.toast(f"Imported {outcome['count']} ratings from {outcome['name']}.")

