"""The download path against a local HTTP server on 127.0.0.1 serving zips the tests build."""

from __future__ import annotations

import hashlib
import sys
import zipfile

import pytest

from movierec.data import download, get_release, identify_zip, install_zip, load_dataset
from movierec.errors import DataError, DownloadError
from tests.data import tiny


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_download_extracts_and_loads(server, tmp_path):
    body = tiny.release_zip("ml-1m")
    server.routes["/ml-1m.zip"] = (body, "ok")
    server.routes["/ml-1m.zip.md5"] = (hashlib.md5(body).hexdigest().encode() + b"  ml-1m.zip",
                                       "ok")
    seen = []
    folder = download(get_release("ml-1m"), tmp_path, mirror=server.url,
                      progress=lambda done, total: seen.append((done, total)))
    assert folder == tmp_path / "ml-1m"
    assert sorted(p.name for p in folder.iterdir()) == ["movies.dat", "ratings.dat", "users.dat"]
    assert seen[-1] == (len(body), len(body))
    assert leftovers(tmp_path) == []
    assert load_dataset("ml-1m", data_dir=tmp_path, allow_download=False).n_ratings == 5


def test_load_downloads_when_missing(server, tmp_path, monkeypatch):
    server.routes["/ml-100k.zip"] = (tiny.release_zip("ml-100k"), "ok")
    monkeypatch.setenv("MOVIEREC_MIRROR", server.url)
    ds = load_dataset("ml-100k", data_dir=tmp_path)
    assert ds.n_ratings == 5 and (tmp_path / "ml-100k" / "u.data").is_file()


def test_truncated_download_leaves_nothing(server, tmp_path):
    server.routes["/ml-1m.zip"] = (tiny.release_zip("ml-1m") * 20, "truncate")
    with pytest.raises(DownloadError, match="cut short"):
        download(get_release("ml-1m"), tmp_path, mirror=server.url)
    assert list(tmp_path.iterdir()) == []
    # The next try starts clean and succeeds.
    server.routes["/ml-1m.zip"] = (tiny.release_zip("ml-1m"), "ok")
    download(get_release("ml-1m"), tmp_path, mirror=server.url)
    assert (tmp_path / "ml-1m" / "ratings.dat").is_file() and leftovers(tmp_path) == []


def test_checksum_mismatch_is_refused(server, tmp_path):
    server.routes["/ml-1m.zip"] = (tiny.release_zip("ml-1m"), "ok")
    server.routes["/ml-1m.zip.md5"] = (b"0" * 32, "ok")
    with pytest.raises(DownloadError, match="MD5"):
        download(get_release("ml-1m"), tmp_path, mirror=server.url)
    assert list(tmp_path.iterdir()) == []


def test_http_error_and_unreachable_server(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(get_release("ml-1m"), tmp_path, mirror=server.url)
    with pytest.raises(DownloadError, match="offline 'demo' dataset"):
        download(get_release("ml-1m"), tmp_path, mirror="http://127.0.0.1:9/", timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_stalled_server_times_out(server, tmp_path):
    server.routes["/ml-1m.zip"] = (tiny.release_zip("ml-1m") * 5, "stall")
    with pytest.raises(DownloadError, match="timed out"):
        download(get_release("ml-1m"), tmp_path, mirror=server.url, timeout=0.5)
    assert list(tmp_path.iterdir()) == []


def test_a_zip_that_is_not_movielens(server, tmp_path):
    server.routes["/ml-1m.zip"] = (tiny.zip_bytes({"docs/readme.txt": b"hi"}), "ok")
    with pytest.raises(DataError, match="does not hold ml-1m"):
        download(get_release("ml-1m"), tmp_path, mirror=server.url)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("entry", ["ml-1m/../../evil.txt", "/etc/evil.txt", "ml-1m/..\\x"])
def test_unsafe_entries_refuse_the_archive(tmp_path, entry):
    entries = {f"ml-1m/{k}": v for k, v in tiny.files_for("ml-1m").items()}
    entries[entry] = b"owned"
    archive = tmp_path / "upload.zip"
    archive.write_bytes(tiny.zip_bytes(entries))
    target = tmp_path / "data"
    with pytest.raises(DataError, match="unsafe path"):
        install_zip(archive, target)
    assert not (tmp_path / "evil.txt").exists()
    assert not target.exists() or list(target.iterdir()) == []


def test_symlink_entries_refuse_the_archive(tmp_path):
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for k, v in tiny.files_for("ml-1m").items():
            zf.writestr(f"ml-1m/{k}", v)
        link = zipfile.ZipInfo("ml-1m/link")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        install_zip(archive, tmp_path / "data")


def test_identify_and_install_an_uploaded_zip(tmp_path):
    archive = tmp_path / "whatever-name.zip"
    archive.write_bytes(tiny.release_zip("ml-latest-small"))
    assert identify_zip(archive).name == "ml-latest-small"
    folder = install_zip(archive, tmp_path / "data")
    assert (folder / "ratings.csv").is_file() and folder.name == "ml-latest-small"
    # Installing again replaces the folder atomically; nothing is left behind.
    install_zip(archive, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


def test_absurd_uncompressed_size_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules["movierec.data.download"], "MAX_TOTAL_UNCOMPRESSED", 100)
    archive = tmp_path / "big.zip"
    archive.write_bytes(tiny.release_zip("ml-1m"))
    with pytest.raises(DataError, match="would unpack to"):
        install_zip(archive, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_zip_bomb_ratio_is_refused(tmp_path):
    entries = {f"ml-1m/{k}": v for k, v in tiny.files_for("ml-1m").items()}
    entries["ml-1m/padding.txt"] = b"\0" * (20 << 20)   # 20 MB that deflate to ~20 KB
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(tiny.zip_bytes(entries))
    with pytest.raises(DataError, match="zip bomb"):
        install_zip(archive, tmp_path / "data")


def test_a_damaged_release_never_replaces_a_good_copy(tmp_path):
    good = tmp_path / "good.zip"
    good.write_bytes(tiny.release_zip("ml-1m"))
    folder = install_zip(good, tmp_path / "data")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    files = tiny.files_for("ml-1m")
    files["ratings.dat"] = b"1::10::5::0\n1::20::nine::0\n"
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(tiny.zip_bytes({f"ml-1m/{k}": v for k, v in files.items()}))
    with pytest.raises(DataError, match="was not installed.*ratings.dat line 2"):
        install_zip(damaged, tmp_path / "data")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert leftovers(tmp_path / "data") == []
    assert load_dataset("ml-1m", data_dir=tmp_path / "data", allow_download=False).n_ratings == 5
