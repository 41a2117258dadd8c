"""A person visiting Recommend without a browser: Streamlit's own protocol over its websocket.

A browser on the machine that runs the server takes the cores the server and the training
worker need (rendering a fresh page costs more CPU than the server spends on it), so a load
test from headless Chromium on a 2-core machine measures the browsers as much as the server.
This client does what the page's frontend does and nothing more:

1. ``GET /_stcore/health`` for the XSRF cookie, then the websocket ``/_stcore/stream`` (subprotocol
   ``streamlit`` with the XSRF token, as the frontend sends it);
2. a ``rerun_script`` back message for the ``recommend`` page, and the forward messages until
   ``script_finished``: the elements (deltas), among them the ratings uploader's widget id;
3. the CSV upload: a ``file_urls_request``, then an HTTP PUT of the file to the URL the server
   answers with (multipart, with the XSRF header), then a ``rerun_script`` whose widget state
   names the uploaded file, as the frontend's uploader does;
4. the forward messages of that run, until ``script_finished``: the text of its captions
   (``Fitted to your N ratings``) and whether a table was drawn.

It checks what a browser would show (the caption's count), not how it would be drawn. Use:
``asyncio.run(visit(url, csv_text, count))``; ``benchmarks/load.py --clients`` runs many.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import re
import time
import urllib.request
import uuid

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

UPLOADER = "Import ratings (CSV with movie_id and rating)"
FITTED = re.compile(r"Fitted to your (\d+) ratings")


def _xsrf(url: str) -> tuple[str, str]:
    """The XSRF cookie's value and the Cookie header that carries it (the health check sets
    it, as the frontend finds it)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url + "/_stcore/health", timeout=30) as answer:
        answer.read()
    for cookie in jar:
        if cookie.name == "_streamlit_xsrf":
            return cookie.value, f"_streamlit_xsrf={cookie.value}"
    return "", ""


def _put(url: str, name: str, body: bytes, token: str, cookie: str) -> None:
    boundary = uuid.uuid4().hex
    data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"UploadedFile\"; "
            f"filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").encode() + body + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=data, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": token,
        "Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


class _Run:
    """What one script run sent: its captions and markdown, widget ids by label, tables."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.widgets: dict[str, str] = {}
        self.tables = 0
        self.exception: str | None = None

    def add(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "markdown":
            self.texts.append(element.markdown.body)
        elif kind in ("table", "arrow_table"):
            self.tables += 1
        elif kind == "exception":
            self.exception = element.exception.message
        elif kind == "file_uploader":
            self.widgets[element.file_uploader.label] = element.file_uploader.id


async def _until_finished(socket, run: _Run, timeout: float, session: dict) -> None:
    """Read forward messages into ``run`` until the script run ends."""
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(socket.recv(), max(0.1, deadline - time.monotonic()))
        message = ForwardMsg()
        message.ParseFromString(raw)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            session["id"] = message.new_session.initialize.session_id
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            run.add(message.delta.new_element)
        elif kind == "file_urls_response":
            session["file_urls"] = message.file_urls_response
            return
        elif kind == "script_finished" and message.script_finished in (
                ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
            return


async def visit(url: str, csv: str, count: int, timeout: float = 120.0) -> dict:
    """One visit: open Recommend, import ``csv`` (``count`` ratings), read the suggestions.
    Returns ``steps`` (open, upload, visit seconds) and ``error`` (None when all went well)."""
    result = {"steps": {}, "error": None, "count": count}
    try:
        start = time.perf_counter()
        token, cookie = await asyncio.to_thread(_xsrf, url)
        ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        async with websockets.connect(ws_url, subprotocols=["streamlit", token],
                                      additional_headers={"Cookie": cookie, "Origin": url},
                                      max_size=2**26) as socket:
            session: dict = {}
            first = BackMsg()
            first.rerun_script.page_name = "recommend"
            first.rerun_script.query_string = ""
            await socket.send(first.SerializeToString())
            opened = _Run()
            await _until_finished(socket, opened, timeout, session)
            if opened.exception:
                raise RuntimeError(f"exception on the page: {opened.exception[:200]}")
            widget = opened.widgets.get(UPLOADER)
            if widget is None:
                raise RuntimeError("the page drew no ratings uploader")
            result["steps"]["open"] = time.perf_counter() - start
            upload = time.perf_counter()
            ask = BackMsg()
            ask.file_urls_request.request_id = uuid.uuid4().hex
            ask.file_urls_request.file_names.append("ratings.csv")
            ask.file_urls_request.session_id = session["id"]
            await socket.send(ask.SerializeToString())
            await _until_finished(socket, _Run(), timeout, session)
            urls = session["file_urls"].file_urls[0]
            body = csv.encode()
            await asyncio.to_thread(_put, url + urls.upload_url if urls.upload_url.startswith(
                "/") else urls.upload_url, "ratings.csv", body, token, cookie)
            rerun = BackMsg()
            rerun.rerun_script.page_name = "recommend"
            state = WidgetState(id=widget, file_uploader_state_value=FileUploaderState(
                uploaded_file_info=[UploadedFileInfo(
                    file_id=urls.file_id, name="ratings.csv", size=len(body),
                    file_urls=FileURLs(file_id=urls.file_id, upload_url=urls.upload_url,
                                       delete_url=urls.delete_url))]))
            rerun.rerun_script.widget_states.widgets.append(state)
            await socket.send(rerun.SerializeToString())
            shown = _Run()
            await _until_finished(socket, shown, timeout, session)
            if shown.exception:
                raise RuntimeError(f"exception on the page: {shown.exception[:200]}")
            told = [int(m.group(1)) for t in shown.texts if (m := FITTED.search(t))]
            if told != [count]:
                raise RuntimeError(f"sessions crossed or no suggestions: the page says {told}, "
                                   f"the person gave {count}")
            if not shown.tables:
                raise RuntimeError("no suggestion table")
            result["steps"]["upload"] = time.perf_counter() - upload
            result["steps"]["visit"] = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - a failed visit is a result
        result["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return result
