"""Start the dashboard with its libraries already imported: `python -m ui.launch [options]` is
`streamlit run app.py [options]` (what `make run` uses), except that pandas, Altair and
movierec's data code are loaded before the first visitor arrives, and torch in the background.
Plain `streamlit run app.py` works the same, with a slower first page after each start."""

from __future__ import annotations

import sys
import threading


def preload() -> None:
    import altair  # noqa: F401 - imported for its side effect: the first page finds it loaded

    import ui.cache  # noqa: F401 - movierec's data code and pandas
    import ui.warmup

    threading.Thread(target=lambda: [__import__(m) for m in ui.warmup.HEAVY_MODULES],
                     name="movierec-preload", daemon=True).start()


def main(argv: list[str]) -> int:
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", "app.py", *argv]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
