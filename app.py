"""movierec dashboard: routes to the pages (run with `streamlit run app.py`)."""

import streamlit as st

from ui.state import PAGES

st.set_page_config(page_title="movierec", page_icon="🎬", layout="wide")
navigation = st.navigation([st.Page(path, title=title, icon=icon)
                            for path, title, icon in PAGES.values()])
navigation.run()
