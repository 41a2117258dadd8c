"""The dashboard's shared state: every st.cache_* and every session-state key lives here."""
