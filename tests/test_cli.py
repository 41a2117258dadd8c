"""The command line: every command, --json documents, and user errors as one line + status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movierec.cli import main
from tests.clitools import assert_user_error, run_main, run_process, start_process, wait
from tests.data import tiny


def run_json(capture, *argv) -> object:
    code = main([*argv, "--json", "--quiet"])
    out = capture.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.fixture
def cli(capfd):
    """The command line in this process: ``cli(*argv)`` is its :class:`Result`."""
    return lambda *argv: run_main(capfd, *argv)


def test_train_evaluate_recommend_similar_runs(capsys):
    doc = run_json(capsys, "train", "--dataset", "demo", "--model", "mf", "--epochs", "2",
                   "--fraction", "0.5", "--seed", "3")
    for key in ("run_id", "run_dir", "model", "dataset", "fraction", "n_train", "n_test",
                "epochs", "train_seconds", "val_rmse", "val_mae", "val_accuracy", "history",
                "load_seconds"):
        assert key in doc, key
    assert doc["model"] == "mf" and doc["dataset"] == "demo" and doc["fraction"] == 0.5
    assert doc["epochs"] == 2 and len(doc["history"]) == 2 and doc["synthetic"] is True
    assert doc["n_train"] + doc["n_test"] == pytest.approx(doc["n_train"] / 0.9, rel=1e-3)
    assert Path(doc["run_dir"]).is_dir()
    run_id = doc["run_id"]

    listed = run_json(capsys, "runs")
    assert [r["run_id"] for r in listed] == [run_id] and listed[0]["status"] == "ok"
    shown = run_json(capsys, "runs", "show", run_id[:8])
    assert shown["run_id"] == run_id and len(shown["history"]) == 2

    evaluated = run_json(capsys, "evaluate", "--run", "latest")
    assert evaluated["val_rmse"] == pytest.approx(doc["val_rmse"], rel=1e-5)
    assert evaluated["mean_rmse"] > evaluated["val_rmse"]
    assert 0 <= evaluated["ndcg10"] <= evaluated["hr10"] <= 1
    assert evaluated["hr10"] == pytest.approx(doc["history"][-1]["val_hr10"])

    recs = run_json(capsys, "recommend", "--run", run_id, "--rate", "1=5", "2=4",
                    "--rate", "3=1", "--top", "5")
    assert len(recs) == 5 and {"movie_id", "title", "predicted_rating"} <= set(recs[0])
    assert not {1, 2, 3} & {r["movie_id"] for r in recs}
    assert all("[synthetic]" in r["title"] for r in recs)

    sims = run_json(capsys, "similar", "--run", run_id, "--movie", "1", "--top", "3")
    assert len(sims) == 3 and {"movie_id", "title", "similarity"} <= set(sims[0])
    by_title = run_json(capsys, "similar", "--run", run_id, "--title", "silent harbor")
    assert len(by_title) == 10

    resumed = run_json(capsys, "train", "--resume", run_id, "--epochs", "1")
    assert resumed["run_id"] == run_id and resumed["epochs"] == 3

    deleted = run_json(capsys, "runs", "delete", run_id)
    assert deleted == {"deleted": run_id}
    assert run_json(capsys, "runs") == []


def test_human_output_and_ratings_file(capsys, tmp_path):
    assert main(["train", "--dataset", "demo", "--model", "mf", "--epochs", "1", "-q"]) == 0
    assert "validation RMSE" in capsys.readouterr().out
    ratings = tmp_path / "mine.csv"
    ratings.write_text("movie_id,rating\n1,5\n2,4\n3,2\n")
    assert main(["recommend", "--run", "latest", "--ratings-file", str(ratings)]) == 0
    out = capsys.readouterr().out
    assert "predicted_rating" in out and "[synthetic]" in out


def test_presets(capsys):
    replay = run_json(capsys, "train", "--preset", "notebook", "--dataset", "demo", "--no-save")
    assert replay["epochs"] == 25 and replay["fraction"] == 0.01 and replay["model"] == "seednet"
    assert replay["train_config"]["epochs"] == 20 and replay["run_dir"] is None
    assert 850 <= replay["n_train"] <= 900
    light = run_json(capsys, "train", "--preset", "seednet-light-dropout", "--dataset", "demo",
                     "--epochs", "1", "--set", "dropout=0.3", "--fraction", "0.2")
    assert light["model_config"]["embedding_dropout"] == 0.25
    assert light["model_config"]["dropout"] == 0.3 and light["epochs"] == 1


def test_datasets_and_models_lists(capsys, tmp_path):
    tiny.write_folder(tmp_path, "ml-100k")
    doc = run_json(capsys, "datasets", "--data-dir", str(tmp_path))
    rows = {r["name"]: r for r in doc["datasets"]}
    assert set(rows) >= {"ml-100k", "ml-1m", "ml-latest-small", "ml-10m", "ml-20m", "ml-25m",
                         "ml-32m", "demo"}
    assert rows["ml-100k"]["present"] and not rows["ml-1m"]["present"]
    assert rows["demo"]["synthetic"]
    models = {m["name"]: m for m in run_json(capsys, "models")}
    assert models["seednet"]["hyperparameters"]["dropout"] == 0.5 and "mf" in models
    assert models["mf"]["search_space"]["dim"] == "32:512:log:int"


def test_download_command_through_a_local_server(server, tmp_path):
    server.routes["/ml-latest-small.zip"] = (tiny.release_zip("ml-latest-small"), "ok")
    result = run_process("download", "ml-latest-small", "--data-dir", str(tmp_path), "--mirror",
                 server.url, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "downloaded" and (tmp_path / "ml-latest-small").is_dir()
    again = json.loads(run_process("download", "ml-latest-small", "--data-dir", str(tmp_path),
                           "--json").stdout)
    assert again["status"] == "already present"


@pytest.mark.parametrize("argv, fragments", [
    (["train", "--dataset", "ml-3m"], ["unknown dataset 'ml-3m'", "ml-1m", "custom folders"]),
    (["train", "--dataset", "../ml-1m"], ["--dataset"]),
    (["train", "--dataset", "demo", "--fraction", "0"], ["fraction"]),
    (["train", "--dataset", "demo", "--fraction", "1.5"], ["fraction"]),
    (["train", "--dataset", "demo", "--fraction", "-0.5"], ["fraction"]),
    (["train", "--dataset", "demo", "--fraction", "0.000001"], ["keeps none"]),
    (["train", "--dataset", "demo", "--test-size", "0"], ["validation_size"]),
    (["train", "--dataset", "demo", "--test-size", "-0.1"], ["validation_size"]),
    (["train", "--dataset", "demo", "--test-size", "1.2"], ["validation_size"]),
    (["train", "--dataset", "demo", "--fraction", "0.0001", "--test-size", "0.01"],
     ["empty validation set"]),
    (["train", "--dataset", "demo", "--lr", "1e12"], ["lr"]),
    (["train", "--dataset", "demo", "--batch-size", "0"], ["batch"]),
    (["train", "--dataset", "demo", "--epochs", "0"], ["epochs"]),
    (["train", "--dataset", "demo", "--lr", "nan"], ["lr"]),
    (["train", "--dataset", "demo", "--set", "dropout=2"], ["dropout"]),
    (["train", "--dataset", "demo", "--set", "colour=blue"], ["unknown setting"]),
    (["train", "--dataset", "demo", "--test-size", "0.999999"], ["empty training set"]),
    (["train", "--dataset", "demo", "--device", "cuda"], []),
    (["recommend", "--run", "nope", "--rate", "1=5"], ["unknown run"]),
    (["recommend", "--run", "nope", "--rate", "1:5"], ["MOVIE_ID=STARS"]),
    (["similar", "--run", "latest", "--movie", "1"], ["no runs"]),
    (["evaluate"], ["--run"]),
    (["download", "ml-1m", "--mirror", "http://127.0.0.1:9/", "--timeout", "2"],
     ["cannot download"]),
    (["runs", "show"], ["needs a run id"]),
    (["evaluate", "--run", "latest", "--ncf", "nowhere/test.negative"],
     ["cannot read", "nowhere/test.negative"]),
    (["train", "--dataset", "demo", "--split", "ncf"], ["no test.rating file", "ncf-demo"]),
])
def test_user_errors_are_one_line_and_status_2(argv, fragments, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "data"))
    result = run_main(capfd, *argv)
    if argv[-1] == "cuda" and result.returncode == 0:
        pytest.skip("a CUDA GPU is present")
    assert_user_error(result, *fragments)


def test_the_real_entry_point_gives_one_error_line_and_status_2(capfd):
    """The contract, in fresh ``python -m movierec`` processes (started together): a usage
    mistake (argparse exits) and a user error (an unknown run) each end in one ``error:`` line,
    status 2 and no traceback; and ``main`` in this process, as the tests above run it, gives
    exactly the same."""
    cases = [(["evaluate"], ["--run", "python -m movierec"]),
             (["recommend", "--run", "nope", "--rate", "1=5"], ["unknown run"])]
    started = [start_process(*argv) for argv, _ in cases]
    for (argv, fragments), process in zip(cases, started, strict=True):
        real = wait(process)
        assert_user_error(real, *fragments)
        assert real.stdout == ""
        assert run_main(capfd, *argv) == real


def test_bad_ids_for_a_real_run(capfd, cli, tmp_path):
    assert main(["train", "--dataset", "demo", "--model", "mf", "--epochs", "1", "-q",
                 "--json"]) == 0
    capfd.readouterr()
    assert_user_error(cli("recommend", "--run", "latest", "--rate", "999999=4"),
                      "unknown movie id 999999")
    assert_user_error(cli("recommend", "--run", "latest", "--rate", "1=9"), "not on the scale")
    assert_user_error(cli("similar", "--run", "latest", "--movie", "0"), "unknown movie id 0")
    assert_user_error(cli("similar", "--run", "latest", "--title", "zzzz"), "no movie title")
    bad = tmp_path / "bad.csv"
    bad.write_text("film,stars\n1,5\n")
    assert_user_error(cli("recommend", "--run", "latest", "--ratings-file", str(bad)),
                      "movie_id and rating")


def test_new_people_quality_evaluate_people_file_and_embeddings(capsys, tmp_path):
    doc = run_json(capsys, "train", "--dataset", "demo", "--model", "newcomer",
                   "--new-people", "60", "--test-size", "0.02")
    assert doc["n_train"] + doc["n_test"] < 98_000          # the people's ratings are not there
    people = doc["quality"]["people"]
    assert {(r["method"], r["given"]) for r in people} == {
        (m, k) for m in ("this run", "most rated") for k in (3, 5, 10)}
    assert all(r["people"] == 60 for r in people)
    neighbours = {r["vectors"]: r for r in doc["quality"]["neighbours"]}
    assert set(neighbours) == {"this run", "item-kNN", "chance"}
    assert neighbours["this run"]["genre_agreement"] > neighbours["chance"]["genre_agreement"]

    evaluated = run_json(capsys, "evaluate", "--run", "latest", "--given", "3,10")
    methods = {(r["method"], r["given"]) for r in evaluated["new_people"]}
    assert ("EASE", 10) in methods and ("item-kNN", 3) in methods and ("this run", 3) in methods
    stored = {(r["method"], r["given"]): r["precision"] for r in people}
    again = {(r["method"], r["given"]): r["precision"] for r in evaluated["new_people"]}
    assert again[("this run", 3)] == pytest.approx(stored[("this run", 3)])
    assert len(evaluated["neighbours"]) == 3
    human = main(["evaluate", "--run", "latest", "--references", "none", "-q"])
    out = capsys.readouterr().out
    assert human == 0 and "new people (60 never seen" in out and "series check" in out

    file = tmp_path / "people.csv"
    file.write_text("person,movie_id,rating\nann,1,5\nann,2,4\nann,3,1\nbob,4,5\nbob,999999,5\n"
                    "carl,999998,4\n")
    many = run_json(capsys, "recommend", "--run", "latest", "--people", str(file), "--top", "4")
    assert [p["person"] for p in many] == ["ann", "bob", "carl"]
    ann = many[0]["suggestions"]
    single = run_json(capsys, "recommend", "--run", "latest", "--rate", "1=5", "2=4", "3=1",
                      "--top", "4")
    assert [r["movie_id"] for r in ann] == [r["movie_id"] for r in single]
    assert many[1]["ignored"] == [999999] and len(many[1]["suggestions"]) == 4
    assert many[2]["suggestions"] == [] and "none of this person's movies" in many[2]["error"]

    out_dir = tmp_path / "projector"
    written = run_json(capsys, "embeddings", "--run", "latest", "--out", str(out_dir),
                       "--min-ratings", "20")
    vectors = (out_dir / "vectors.tsv").read_text().splitlines()
    metadata = (out_dir / "metadata.tsv").read_text().splitlines()
    assert metadata[0].split("\t")[:4] == ["movie_id", "title", "genres", "n_ratings"]
    assert len(vectors) == len(metadata) - 1 == written["movies"]
    assert all(len(v.split("\t")) == written["dimensions"] for v in vectors)
    assert all(int(line.split("\t")[3]) >= 20 for line in metadata[1:])


def test_people_file_and_projector_errors(capfd, cli, tmp_path):
    assert main(["train", "--dataset", "demo", "--model", "mf", "--epochs", "1", "-q",
                 "--json", "--no-quality"]) == 0
    assert "quality" in json.loads(capfd.readouterr().out)
    bad = tmp_path / "people.csv"
    bad.write_text("person,movie_id,rating\nann,1,5\nann,1,4\n")
    assert_user_error(cli("recommend", "--run", "latest", "--people", str(bad)),
                      "line 3", "second time")
    bad.write_text("person,movie_id,rating\nann,1,7\n")
    assert_user_error(cli("recommend", "--run", "latest", "--people", str(bad)),
                      "not on the scale")
    bad.write_text("movie_id,rating\n1,5\n")
    assert_user_error(cli("recommend", "--run", "latest", "--people", str(bad)),
                      "person, movie_id and rating")
    assert_user_error(cli("recommend", "--run", "latest", "--people", str(tmp_path / "no.csv")),
                      "cannot read")
    assert_user_error(cli("recommend", "--run", "latest", "--people", str(bad), "--rate", "1=5"),
                      "--people")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_user_error(cli("embeddings", "--run", "latest", "--out", str(blocker)),
                      "cannot write")
    assert_user_error(cli("embeddings", "--run", "latest", "--out", str(tmp_path / "p"),
                          "--min-ratings", "100000"), "no movie")
    assert_user_error(cli("evaluate", "--run", "latest", "--given", "3,x"), "--given")
    assert_user_error(cli("evaluate", "--run", "latest", "--references", "SVD"),
                      "unknown reference")
    assert_user_error(cli("train", "--dataset", "demo", "--new-people", "900"),
                      "cannot hold out 900")


def test_train_on_the_ncf_split_and_evaluate_the_exact_test(capfd, tmp_path):
    data = tmp_path / "data"
    folder = tiny.write_ncf_dataset(data)
    negative = str((folder / "test.negative").resolve())
    doc = run_json(capfd, "train", "--dataset", "ml-1m", "--data-dir", str(data), "--model",
                   "mf", "--split", "ncf", "--epochs", "2", "--no-quality")
    assert (doc["n_train"], doc["n_test"]) == (420, 30)
    saved = json.loads((Path(doc["run_dir"]) / "config.json").read_text())["data_config"]
    assert saved["split"] == "ncf"
    assert saved["holdout"] == str((folder / "test.rating").resolve())   # the default, absolute
    assert (doc["split"], doc["holdout"]) == ("ncf", saved["holdout"])   # said in the summary
    last = doc["history"][-1]          # ranked on the candidates of test.negative

    exact = run_json(capfd, "evaluate", "--run", "latest", "--ncf", negative)
    for key in ("run_id", "model", "dataset", "protocol", "file", "hr10", "ndcg10", "n_users",
                "unknown_users", "unknown_movies", "merged", "seconds"):
        assert key in exact, key
    assert (exact["protocol"], exact["file"], exact["model"]) == ("ncf", negative, "mf")
    assert (exact["n_users"], exact["unknown_users"], exact["unknown_movies"],
            exact["merged"]) == (30, 0, 1, 1)
    assert exact["hr10"] == pytest.approx(last["val_hr10"])
    assert exact["ndcg10"] == pytest.approx(last["val_ndcg10"])
    full = run_json(capfd, "evaluate", "--run", "latest", "--data-dir", str(data),
                    "--references", "none")
    assert full["ranking_candidates"] == "test.negative" and full["ranking_users"] == 30
    assert full["hr10"] == pytest.approx(exact["hr10"])
    assert main(["evaluate", "--run", "latest", "--ncf", negative, "-q"]) == 0
    human = capfd.readouterr().out.strip().splitlines()
    assert len(human) == 2 and "HR@10" in human[0] and "1 movie(s)" in human[1]

    elsewhere = tmp_path / "held.rating"       # no test.negative beside it
    elsewhere.write_text((folder / "test.rating").read_text())
    alone = run_json(capfd, "train", "--dataset", "ml-1m", "--data-dir", str(data), "--model",
                     "mf", "--holdout", str(elsewhere), "--epochs", "1", "--no-quality",
                     "--no-save")
    assert (alone["n_train"], alone["n_test"]) == (420, 30)

    for argv, fragment in [
        (["train", "--resume", "latest", "--holdout", str(elsewhere)], "--holdout"),
        (["train", "--dataset", "ml-1m", "--split", "random", "--holdout", str(elsewhere)],
         "only used with split 'ncf'"),
        (["train", "--dataset", "ml-1m", "--holdout", str(tmp_path / "none.rating")],
         f"no test.rating file at {tmp_path / 'none.rating'}"),
        (["train", "--dataset", "ml-1m", "--holdout", str(elsewhere), "--fraction", "0.5"],
         "fraction must be 1"),
    ]:
        assert_user_error(run_main(capfd, *argv, "--data-dir", str(data), "-q"), fragment)
    original = tmp_path / "ml-1m.test.negative"
    original.write_text("(0,25)\t1064\t174\n")
    assert_user_error(run_main(capfd, "evaluate", "--run", "latest", "--ncf", str(original),
                               "--json"), "original NCF")


def test_onboarding_through_the_command_line(capfd, cli, tmp_path):
    """The recommended model on the demo: train measures the onboarding protocol, evaluate
    prints it, ``starters`` gives the page's strip (one person or a file of them), and
    ``recommend --people`` takes the same file, skips included, as the protocol does."""
    doc = run_json(capfd, "train", "--preset", "recommended", "--dataset", "demo",
                   "--new-people", "60")
    assert doc["model"] == "onboard"
    onboarding = doc["quality"]["onboarding"]
    assert {(r["method"], r["round"]) for r in onboarding} == {
        (m, k) for m in ("this run", "most rated") for k in (1, 2, 3)}
    assert all(r["shown"] == 12 * r["round"] and r["people"] == 60 for r in onboarding)
    evaluated = run_json(capfd, "evaluate", "--run", "latest", "--references", "EASE")
    again = {(r["method"], r["round"]): r["precision"] for r in evaluated["onboarding"]}
    stored = {(r["method"], r["round"]): r["precision"] for r in onboarding}
    assert again[("this run", 2)] == pytest.approx(stored[("this run", 2)])
    assert ("EASE", 3) in again
    assert main(["evaluate", "--run", "latest", "--references", "none", "-q"]) == 0
    assert "onboarding (60 people never seen" in capfd.readouterr().out

    first = run_json(capfd, "starters", "--run", "latest", "--top", "12")
    assert len(first) == 12 and set(first[0]) == {"movie_id", "title", "year", "genres",
                                                  "n_ratings"}
    ids = [m["movie_id"] for m in first]
    rates = [f"{m}={5 if i % 2 else 4}" for i, m in enumerate(ids[:5])]
    second = run_json(capfd, "starters", "--run", "latest", "--rate", *rates,
                      "--skip", *map(str, ids[5:]), "--top", "12")
    assert len(second) == 12 and not {m["movie_id"] for m in second} & set(ids)

    people = tmp_path / "people.csv"
    people.write_text("person,movie_id,rating\nnew,,\n"
                      + "".join(f"fan,{r.replace('=', ',')}\n" for r in rates)
                      + "".join(f"fan,{m},\n" for m in ids[5:]) + "fan,999999,\n")
    many = run_json(capfd, "starters", "--run", "latest", "--people", str(people))
    assert [p["person"] for p in many] == ["new", "fan"]
    assert many[0]["starters"] == first and many[1]["starters"] == second
    assert many[1]["ignored"] == [999999]
    suggested = run_json(capfd, "recommend", "--run", "latest", "--people", str(people))
    single = run_json(capfd, "recommend", "--run", "latest", "--rate", *rates,
                      "--skip", *map(str, ids[5:]))
    assert [s["movie_id"] for s in suggested[1]["suggestions"]] == \
        [s["movie_id"] for s in single]
    assert not {s["movie_id"] for s in single} & set(ids)
    # someone with no answers gets the strip, and no suggestions yet
    assert suggested[0]["suggestions"] == [] and "rated no movie" in suggested[0]["error"]

    assert_user_error(cli("starters", "--run", "latest", "--rate", "999999=5"),
                      "unknown movie id 999999")
    assert_user_error(cli("starters", "--run", "latest", "--rate", f"{ids[0]}=5",
                          "--skip", str(ids[0])), "both rated and skipped")
    assert_user_error(cli("starters", "--run", "latest", "--skip", "abc"), "whole number")
    assert_user_error(cli("starters", "--run", "latest", "--top", "0"), "--top")
    assert_user_error(cli("starters", "--run", "latest", "--people", str(people), "--skip",
                          "1"), "--people")
    people.write_text("person,movie_id,rating\nann,1,\nann,1,4\n")
    assert_user_error(cli("starters", "--run", "latest", "--people", str(people)),
                      "line 3", "second time")
    people.write_bytes(b"\x00\x01binary")
    assert_user_error(cli("recommend", "--run", "latest", "--people", str(people)),
                      "not a text file")
