"""movierec dashboard: routes to the pages (run with `streamlit run app.py`)."""

import streamlit as st

from ui import nav, warmup

st.set_page_config(page_title="movierec", page_icon="🎬", layout="wide")
warmup.warm_up()
nav.navigation().run()
