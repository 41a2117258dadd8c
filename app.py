"""movierec dashboard entry point (the full multipage dashboard is the next milestone)."""

import streamlit as st

from movierec.data import dataset_status
from movierec.runs import RunStore

st.set_page_config(page_title="movierec", page_icon="🎬", layout="wide")
st.title("movierec")
st.caption("Learn movie recommenders from MovieLens ratings. The training pages are on their way; "
           "meanwhile the command line does everything: `python -m movierec --help`.")

st.subheader("Datasets")
st.dataframe([{k: r[k] for k in ("name", "title", "present", "ratings", "note")}
              for r in dataset_status()], hide_index=True)

st.subheader("Saved runs")
runs = RunStore().list()
if runs:
    st.dataframe(runs, hide_index=True)
else:
    st.info("No runs yet. Train one with `python -m movierec train --dataset demo --model mf`.")
