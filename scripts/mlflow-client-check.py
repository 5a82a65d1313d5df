#!/usr/bin/env python3
"""Drives a tracking server with MLflow's own Python client, the way a new user would.

Usage: PYTHONPATH=<mlflow source> python3 scripts/mlflow-client-check.py http://127.0.0.1:5000

Runs, params, metrics, batches, artifacts, datasets, tags, searches, the fluent API,
the registry (stages, aliases, models:/ URIs, copies) and a few raw REST calls the
client makes through MLflow's own rest utilities. Each operation passes or fails;
failures are printed with their reason, and the last line is the summary:
`mlflow-client-check: <passed> passed, <failed> failed of <total> operations`.
Exits 1 when any operation failed.
"""

import json
import os
import sys
import tempfile
import time
import traceback
import uuid

if len(sys.argv) != 2:
    sys.exit("usage: mlflow-client-check.py <tracking server URL>")
URL = sys.argv[1].rstrip("/")
os.environ["MLFLOW_TRACKING_URI"] = URL
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.utils.rest_utils import MlflowHostCreds, http_request  # noqa: E402

client = MlflowClient(tracking_uri=URL, registry_uri=URL)
creds = MlflowHostCreds(URL, token=os.environ.get("MLFLOW_TRACKING_TOKEN"))
suffix = uuid.uuid4().hex[:8]
work = tempfile.mkdtemp(prefix="mlflow-client-check-")
state = {}
passed = 0
failures = []


def op(name):
    """Runs the decorated function now as one operation, counting it."""

    def run(fn):
        global passed
        try:
            fn()
            passed += 1
        except Exception as error:  # noqa: BLE001 - every failure is reported
            failures.append(name)
            reason = f"{type(error).__name__}: {error}".strip().splitlines()
            print(f"FAIL {name}: {' '.join(reason)[:600]}")
            if os.environ.get("MLFLOW_CHECK_TRACEBACK"):
                traceback.print_exc()
        return fn

    return run


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def refused(fn, code):
    """fn must raise MlflowException with this error code."""
    try:
        fn()
    except MlflowException as error:
        expect(error.error_code == code, f"expected {code}, got {error.error_code}: {error}")
        return error
    raise AssertionError(f"expected {code}, got no error")


def rest(method, endpoint, body=None, params=None):
    kwargs = {}
    if body is not None:
        kwargs["json"] = body
    if params is not None:
        kwargs["params"] = params
    return http_request(creds, endpoint, method, **kwargs)


def local_file(name, text):
    path = os.path.join(work, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def read(path):
    with open(path) as handle:
        return handle.read()


# ---- experiments
EXP = f"check-{suffix}"


@op("create_experiment with tags")
def _():
    state["exp"] = client.create_experiment(EXP, tags={"team": "genres", "stage": "check"})
    expect(state["exp"], "no experiment id")


@op("get_experiment")
def _():
    e = client.get_experiment(state["exp"])
    expect(e.name == EXP and e.tags["team"] == "genres", f"unexpected {e}")
    expect(e.artifact_location.startswith("mlflow-artifacts:"), e.artifact_location)


@op("get_experiment_by_name")
def _():
    expect(client.get_experiment_by_name(EXP).experiment_id == state["exp"], "wrong id")


@op("get_experiment_by_name of a missing name gives None")
def _():
    expect(client.get_experiment_by_name(f"missing-{suffix}") is None, "found a missing one")


@op("get_experiment of the Default experiment")
def _():
    expect(client.get_experiment("0").name == "Default", "Default missing")


@op("set_experiment_tag")
def _():
    client.set_experiment_tag(state["exp"], "note", "set later")
    expect(client.get_experiment(state["exp"]).tags["note"] == "set later", "tag not set")


@op("create_experiment of an existing name is refused")
def _():
    refused(lambda: client.create_experiment(EXP), "RESOURCE_ALREADY_EXISTS")


@op("rename_experiment")
def _():
    client.rename_experiment(state["exp"], EXP + "-renamed")
    expect(client.get_experiment(state["exp"]).name == EXP + "-renamed", "not renamed")
    client.rename_experiment(state["exp"], EXP)


@op("create_experiment with an s3:// artifact location")
def _():
    location = f"s3://genre-check-bucket/experiments/{suffix}"
    state["s3_exp"] = client.create_experiment(f"{EXP}-s3", artifact_location=location)
    expect(client.get_experiment(state["s3_exp"]).artifact_location == location, "location")


@op("create_run in the s3:// experiment has its artifact URI under it")
def _():
    run = client.create_run(state["s3_exp"])
    expect(run.info.artifact_uri.startswith("s3://genre-check-bucket/experiments/"), run.info)
    client.set_terminated(run.info.run_id)


@op("delete_experiment and restore_experiment")
def _():
    temp = client.create_experiment(f"{EXP}-temp")
    client.delete_experiment(temp)
    expect(client.get_experiment(temp).lifecycle_stage == "deleted", "not deleted")
    state["deleted_exp"] = temp


@op("search_experiments DELETED_ONLY")
def _():
    found = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    expect(state["deleted_exp"] in [e.experiment_id for e in found], "deleted one missing")


@op("restore_experiment")
def _():
    client.restore_experiment(state["deleted_exp"])
    expect(client.get_experiment(state["deleted_exp"]).lifecycle_stage == "active", "not active")


@op("search_experiments with a filter on name and tags")
def _():
    found = client.search_experiments(filter_string=f"name LIKE 'check-{suffix}%' AND tags.team = 'genres'")
    expect([e.name for e in found] == [EXP], f"found {[e.name for e in found]}")


@op("search_experiments ordered with pages")
def _():
    first = client.search_experiments(
        filter_string=f"name LIKE 'check-{suffix}%'", order_by=["name DESC"], max_results=2
    )
    expect(len(first) == 2 and first.token, f"page 1: {len(first)}, token {first.token}")
    second = client.search_experiments(
        filter_string=f"name LIKE 'check-{suffix}%'",
        order_by=["name DESC"],
        max_results=2,
        page_token=first.token,
    )
    names = [e.name for e in first] + [e.name for e in second]
    expect(names == sorted(names, reverse=True) and len(set(names)) == 3, f"pages {names}")


@op("mlflow.set_experiment by name")
def _():
    e = mlflow.set_experiment(EXP)
    expect(e.experiment_id == state["exp"], "other experiment")


@op("mlflow.get_experiment_by_name")
def _():
    expect(mlflow.get_experiment_by_name(EXP).experiment_id == state["exp"], "fluent by name")


@op("mlflow.search_experiments")
def _():
    expect(any(e.name == EXP for e in mlflow.search_experiments()), "fluent search")


# ---- runs through the client
@op("create_run with a name and tags")
def _():
    run = client.create_run(state["exp"], run_name="client-run", tags={"kind": "client"})
    state["run"] = run.info.run_id
    expect(run.info.run_name == "client-run" and run.data.tags["kind"] == "client", run)
    expect(run.info.status == "RUNNING", run.info.status)


@op("get_run")
def _():
    run = client.get_run(state["run"])
    expect(run.info.experiment_id == state["exp"], "experiment id")


@op("get_run of a missing run is refused")
def _():
    refused(lambda: client.get_run("0" * 32), "RESOURCE_DOES_NOT_EXIST")


@op("log_param")
def _():
    client.log_param(state["run"], "trees", 100)
    expect(client.get_run(state["run"]).data.params["trees"] == "100", "param")


@op("log_param of the same value again")
def _():
    client.log_param(state["run"], "trees", 100)


@op("log_param of another value is refused")
def _():
    refused(lambda: client.log_param(state["run"], "trees", 200), "INVALID_PARAMETER_VALUE")


@op("log_metric")
def _():
    client.log_metric(state["run"], "loss", 0.9, step=0)
    expect(client.get_run(state["run"]).data.metrics["loss"] == 0.9, "metric")


@op("log_metric over steps")
def _():
    for step in range(1, 20):
        client.log_metric(state["run"], "loss", 0.9 / (step + 1), step=step, timestamp=1000 + step)


@op("log_metric NaN and infinity")
def _():
    client.log_metric(state["run"], "odd", float("nan"), step=0)
    client.log_metric(state["run"], "odd", float("inf"), step=1)
    history = client.get_metric_history(state["run"], "odd")
    expect(history[0].value != history[0].value and history[1].value == float("inf"), history)


@op("log_batch of metrics, params and tags")
def _():
    client.log_batch(
        state["run"],
        metrics=[Metric("acc", 0.5 + i / 100, 2000 + i, i) for i in range(10)],
        params=[Param("depth", "12"), Param("features", "all")],
        tags=[RunTag("batch", "yes")],
    )
    data = client.get_run(state["run"]).data
    expect(data.params["depth"] == "12" and data.tags["batch"] == "yes", data)
    expect(abs(data.metrics["acc"] - 0.59) < 1e-9, data.metrics)


@op("log_batch of 1000 metrics")
def _():
    now = int(time.time() * 1000)
    client.log_batch(state["run"], metrics=[Metric("many", i, now, i) for i in range(1000)])


@op("get_metric_history")
def _():
    history = client.get_metric_history(state["run"], "loss")
    expect(len(history) == 20 and sorted(m.step for m in history) == list(range(20)), history)


@op("get_metric_history of 1000 values")
def _():
    expect(len(client.get_metric_history(state["run"], "many")) == 1000, "history")


@op("set_tag")
def _():
    client.set_tag(state["run"], "owner", "m1")
    expect(client.get_run(state["run"]).data.tags["owner"] == "m1", "tag")


@op("delete_tag")
def _():
    client.set_tag(state["run"], "temporary", "x")
    client.delete_tag(state["run"], "temporary")
    expect("temporary" not in client.get_run(state["run"]).data.tags, "tag kept")


@op("update_run name")
def _():
    client.update_run(state["run"], name="client-run-renamed")
    expect(client.get_run(state["run"]).info.run_name == "client-run-renamed", "name")


@op("set_terminated FINISHED")
def _():
    client.set_terminated(state["run"], "FINISHED")
    info = client.get_run(state["run"]).info
    expect(info.status == "FINISHED" and info.end_time, info)


@op("delete_run and restore_run")
def _():
    temp = client.create_run(state["exp"], run_name="deleted-run").info.run_id
    client.delete_run(temp)
    expect(client.get_run(temp).info.lifecycle_stage == "deleted", "not deleted")
    state["deleted_run"] = temp


@op("search_runs DELETED_ONLY")
def _():
    found = client.search_runs([state["exp"]], run_view_type=ViewType.DELETED_ONLY)
    expect([r.info.run_id for r in found] == [state["deleted_run"]], "deleted runs")


@op("restore_run")
def _():
    client.restore_run(state["deleted_run"])
    expect(client.get_run(state["deleted_run"]).info.lifecycle_stage == "active", "not active")


@op("log_inputs of datasets with a context tag")
def _():
    dataset = Dataset(
        name="train",
        digest="abc123",
        source_type="local",
        source='{"uri": "file:///data/train.parquet"}',
        schema='{"columns": []}',
        profile='{"rows": 10}',
    )
    client.log_inputs(state["run"], [DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
    inputs = client.get_run(state["run"]).inputs.dataset_inputs
    expect(len(inputs) == 1 and inputs[0].dataset.digest == "abc123", inputs)
    expect(inputs[0].tags[0].value == "training", inputs[0].tags)


@op("mlflow.log_input of a MetaDataset")
def _():
    from mlflow.data.http_dataset_source import HTTPDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    dataset = MetaDataset(HTTPDatasetSource("https://example.org/valid.csv"), name="valid")
    with mlflow.start_run(experiment_id=state["exp"], run_name="with-input") as run:
        mlflow.log_input(dataset, context="validation")
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    expect([i.dataset.name for i in inputs] == ["valid"], inputs)


@op("search_runs by metric")
def _():
    found = client.search_runs([state["exp"]], filter_string="metrics.acc > 0.55")
    expect([r.info.run_id for r in found] == [state["run"]], found)


@op("search_runs by param and tag")
def _():
    found = client.search_runs(
        [state["exp"]], filter_string="params.depth = '12' and tags.kind = 'client'"
    )
    expect(len(found) == 1, found)


@op("search_runs by attribute")
def _():
    found = client.search_runs(
        [state["exp"]], filter_string="attributes.run_name = 'client-run-renamed' and attributes.status = 'FINISHED'"
    )
    expect(len(found) == 1, found)


@op("search_runs by dataset")
def _():
    found = client.search_runs([state["exp"]], filter_string="dataset.name = 'train' and dataset.context = 'training'")
    expect([r.info.run_id for r in found] == [state["run"]], found)


@op("search_runs with LIKE, IN and IS NULL")
def _():
    found = client.search_runs(
        [state["exp"]],
        filter_string="tags.kind LIKE 'cli%' and params.features IN ('all', 'some') and params.missing IS NULL",
    )
    expect(len(found) == 1, found)


@op("search_runs ordered and paged")
def _():
    for i in range(5):
        r = client.create_run(state["exp"], run_name=f"paged-{i}")
        client.log_metric(r.info.run_id, "rank", i)
        client.set_terminated(r.info.run_id)
    first = client.search_runs(
        [state["exp"]], "metrics.rank >= 0", order_by=["metrics.rank DESC"], max_results=3
    )
    second = client.search_runs(
        [state["exp"]],
        "metrics.rank >= 0",
        order_by=["metrics.rank DESC"],
        max_results=3,
        page_token=first.token,
    )
    ranks = [r.data.metrics["rank"] for r in first] + [r.data.metrics["rank"] for r in second]
    expect(ranks == [4, 3, 2, 1, 0] and second.token is None, ranks)


@op("search_runs over several experiments")
def _():
    found = client.search_runs([state["exp"], state["s3_exp"]], max_results=100)
    expect(len(found) >= 8, len(found))


@op("search_runs with a bad filter is refused")
def _():
    refused(lambda: client.search_runs([state["exp"]], "metrics.acc >>> 1"), "INVALID_PARAMETER_VALUE")


@op("mlflow.search_runs as a list")
def _():
    found = mlflow.search_runs(
        experiment_ids=[state["exp"]], filter_string="metrics.rank = 2", output_format="list"
    )
    expect(len(found) == 1, found)


@op("mlflow.search_runs by experiment name")
def _():
    found = mlflow.search_runs(experiment_names=[EXP], output_format="list", max_results=3)
    expect(len(found) == 3, found)


# ---- the fluent API, as autologging uses it
@op("mlflow.start_run with a name")
def _():
    run = mlflow.start_run(experiment_id=state["exp"], run_name="fluent-run")
    state["fluent"] = run.info.run_id
    expect(mlflow.active_run().info.run_id == run.info.run_id, "active run")


@op("mlflow.log_param and log_params")
def _():
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"beta": 2, "gamma": "x", "delta": None})


@op("mlflow.log_metric and log_metrics with steps")
def _():
    for step in range(5):
        mlflow.log_metric("train_loss", 1 / (step + 1), step=step)
        mlflow.log_metrics({"val_loss": 2 / (step + 1), "val_acc": step / 5}, step=step)


@op("mlflow.set_tag and set_tags")
def _():
    mlflow.set_tag("framework", "none")
    mlflow.set_tags({"a": 1, "b": "two"})


@op("mlflow.delete_tag")
def _():
    mlflow.set_tag("gone", "soon")
    mlflow.delete_tag("gone")


@op("mlflow.log_text")
def _():
    mlflow.log_text("hello genres\n", "notes/hello.txt")


@op("mlflow.log_dict as JSON and YAML")
def _():
    mlflow.log_dict({"genres": ["rock", "jazz"]}, "config/genres.json")
    mlflow.log_dict({"genres": ["rock", "jazz"]}, "config/genres.yaml")


@op("mlflow.log_artifact")
def _():
    mlflow.log_artifact(local_file("report.txt", "a report\n"), artifact_path="reports")


@op("mlflow.log_artifacts of a folder")
def _():
    folder = os.path.join(work, "model-folder")
    local_file("model-folder/MLmodel", "flavors: {}\n")
    local_file("model-folder/data/weights.bin", "0123456789" * 100)
    mlflow.log_artifacts(folder, artifact_path="model")


@op("mlflow.get_artifact_uri")
def _():
    uri = mlflow.get_artifact_uri("model")
    expect(uri.endswith(f"{state['fluent']}/artifacts/model"), uri)


@op("nested run with its parent tag")
def _():
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("child_metric", 1.0)
    tags = client.get_run(child.info.run_id).data.tags
    expect(tags["mlflow.parentRunId"] == state["fluent"], tags)
    state["child"] = child.info.run_id


@op("mlflow.end_run")
def _():
    mlflow.end_run()
    expect(mlflow.active_run() is None, "still active")
    info = client.get_run(state["fluent"]).info
    expect(info.status == "FINISHED", info.status)


@op("fluent run's data read back")
def _():
    data = client.get_run(state["fluent"]).data
    expect(data.params == {"alpha": "0.5", "beta": "2", "gamma": "x", "delta": "None"}, data.params)
    expect(data.metrics["train_loss"] == 0.2 and data.tags["b"] == "two", data)
    expect("gone" not in data.tags and data.tags["mlflow.runName"] == "fluent-run", data.tags)


@op("mlflow.last_active_run")
def _():
    expect(mlflow.last_active_run().info.run_id == state["fluent"], "last active run")


@op("mlflow.start_run with status FAILED at the end")
def _():
    with mlflow.start_run(experiment_id=state["exp"], run_name="failing") as run:
        mlflow.log_metric("x", 1)
    mlflow.end_run()
    client.set_terminated(run.info.run_id, "FAILED")
    expect(client.get_run(run.info.run_id).info.status == "FAILED", "status")


@op("mlflow.start_run resumes a run by id")
def _():
    with mlflow.start_run(run_id=state["fluent"]):
        mlflow.log_metric("resumed", 1)
    expect(client.get_run(state["fluent"]).data.metrics["resumed"] == 1, "resumed")


@op("mlflow.get_run and mlflow.get_parent_run")
def _():
    expect(mlflow.get_run(state["child"]).info.run_name == "child", "get_run")
    expect(mlflow.get_parent_run(state["child"]).info.run_id == state["fluent"], "parent")


@op("mlflow.delete_run")
def _():
    run = client.create_run(state["exp"], run_name="fluent-deleted")
    mlflow.delete_run(run.info.run_id)
    expect(client.get_run(run.info.run_id).info.lifecycle_stage == "deleted", "deleted")


# ---- artifacts
@op("client.log_artifact")
def _():
    client.log_artifact(state["run"], local_file("plain.txt", "plain\n"))


@op("client.log_artifact under a path")
def _():
    client.log_artifact(state["run"], local_file("sub/inner.json", '{"a": 1}'), "deep/er")


@op("client.log_artifacts of a folder")
def _():
    local_file("tree/a.txt", "a")
    local_file("tree/b/c.txt", "c")
    client.log_artifacts(state["run"], os.path.join(work, "tree"), "tree")


@op("client.log_text and log_dict")
def _():
    client.log_text(state["run"], "text body", "texts/t.txt")
    client.log_dict(state["run"], {"k": [1, 2]}, "texts/d.json")


@op("log_artifact with the multipart upload turned on falls back")
def _():
    os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"] = "true"
    os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"] = "1000"
    try:
        client.log_artifact(state["run"], local_file("big.bin", "x" * 5000), "big")
    finally:
        del os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"]
        del os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"]
    size = [f.file_size for f in client.list_artifacts(state["run"], "big")]
    expect(size == [5000], size)


@op("list_artifacts at the root")
def _():
    names = [(f.path, f.is_dir) for f in client.list_artifacts(state["run"])]
    for expected in [("plain.txt", False), ("deep", True), ("tree", True), ("texts", True)]:
        expect(expected in names, f"{expected} not in {names}")


@op("list_artifacts of a folder")
def _():
    files = client.list_artifacts(state["run"], "tree")
    expect([(f.path, f.is_dir) for f in files] == [("tree/a.txt", False), ("tree/b", True)], files)
    expect(files[0].file_size == 1, files[0])


@op("list_artifacts of a missing folder is empty")
def _():
    expect(client.list_artifacts(state["run"], "nothing-here") == [], "not empty")


@op("download_artifacts of a file")
def _():
    path = client.download_artifacts(state["run"], "deep/er/inner.json", tempfile.mkdtemp(dir=work))
    expect(json.loads(read(path)) == {"a": 1}, path)


@op("download_artifacts of a folder")
def _():
    path = client.download_artifacts(state["run"], "tree", tempfile.mkdtemp(dir=work))
    expect(read(os.path.join(path, "b", "c.txt")) == "c", path)


@op("mlflow.artifacts.download_artifacts by run id")
def _():
    path = mlflow.artifacts.download_artifacts(run_id=state["fluent"], artifact_path="model")
    expect(len(read(os.path.join(path, "data", "weights.bin"))) == 1000, path)


@op("mlflow.artifacts.download_artifacts of a runs:/ URI")
def _():
    path = mlflow.artifacts.download_artifacts(f"runs:/{state['fluent']}/reports/report.txt")
    expect(read(path) == "a report\n", path)


@op("mlflow.artifacts.download_artifacts of an mlflow-artifacts URI")
def _():
    uri = client.get_run(state["fluent"]).info.artifact_uri + "/notes/hello.txt"
    expect(read(mlflow.artifacts.download_artifacts(uri)) == "hello genres\n", uri)


@op("mlflow.artifacts.load_text and load_dict")
def _():
    expect(mlflow.artifacts.load_text(f"runs:/{state['fluent']}/notes/hello.txt") == "hello genres\n", "text")
    loaded = mlflow.artifacts.load_dict(f"runs:/{state['fluent']}/config/genres.json")
    expect(loaded == {"genres": ["rock", "jazz"]}, loaded)


@op("mlflow.artifacts.list_artifacts of a runs:/ URI")
def _():
    files = mlflow.artifacts.list_artifacts(f"runs:/{state['fluent']}/model")
    expect(sorted(f.path for f in files) == ["model/MLmodel", "model/data"], files)


@op("download of a missing artifact fails")
def _():
    try:
        client.download_artifacts(state["run"], "no/such/file.txt", tempfile.mkdtemp(dir=work))
    except Exception:  # noqa: BLE001 - any error is right
        return
    raise AssertionError("downloaded a missing file")


# ---- registry
MODEL = f"genre-forest-{suffix}"


@op("create_registered_model with tags and description")
def _():
    m = client.create_registered_model(MODEL, tags={"task": "genres"}, description="forest")
    expect(m.name == MODEL and m.tags == {"task": "genres"} and m.description == "forest", m)


@op("create_registered_model of an existing name is refused")
def _():
    refused(lambda: client.create_registered_model(MODEL), "RESOURCE_ALREADY_EXISTS")


@op("get_registered_model")
def _():
    expect(client.get_registered_model(MODEL).description == "forest", "description")


@op("update_registered_model")
def _():
    client.update_registered_model(MODEL, description="a random forest")
    expect(client.get_registered_model(MODEL).description == "a random forest", "description")


@op("set_registered_model_tag and delete_registered_model_tag")
def _():
    client.set_registered_model_tag(MODEL, "owner", "m1")
    client.set_registered_model_tag(MODEL, "temp", "x")
    client.delete_registered_model_tag(MODEL, "temp")
    expect(client.get_registered_model(MODEL).tags == {"task": "genres", "owner": "m1"}, "tags")


@op("create_model_version from runs:/")
def _():
    mv = client.create_model_version(
        MODEL, f"runs:/{state['fluent']}/model", run_id=state["fluent"], tags={"t": "1"}, description="v1"
    )
    expect(mv.version == "1" and mv.current_stage == "None" and mv.status == "READY", mv)
    expect(mv.run_id == state["fluent"] and mv.tags == {"t": "1"}, mv)


@op("mlflow.register_model of a runs:/ URI")
def _():
    mv = mlflow.register_model(f"runs:/{state['fluent']}/model", MODEL)
    expect(mv.version == "2", mv.version)


@op("mlflow.register_model creates the model")
def _():
    mv = mlflow.register_model(f"runs:/{state['fluent']}/model", f"{MODEL}-fresh")
    expect(mv.version == "1", mv.version)


@op("create_model_version from runs:/ of another run than run_id")
def _():
    mv = client.create_model_version(MODEL, f"runs:/{state['fluent']}/model", run_id=state["run"])
    expect(mv.version == "3" and mv.run_id == state["run"], mv)


@op("get_model_version")
def _():
    mv = client.get_model_version(MODEL, "1")
    expect(mv.description == "v1" and mv.source == f"runs:/{state['fluent']}/model", mv)


@op("get_model_version of a missing version is refused")
def _():
    refused(lambda: client.get_model_version(MODEL, "99"), "RESOURCE_DOES_NOT_EXIST")


@op("update_model_version")
def _():
    client.update_model_version(MODEL, "2", description="second")
    expect(client.get_model_version(MODEL, "2").description == "second", "description")


@op("set_model_version_tag and delete_model_version_tag")
def _():
    client.set_model_version_tag(MODEL, "2", "gate", "passed")
    client.set_model_version_tag(MODEL, "2", "temp", "x")
    client.delete_model_version_tag(MODEL, "2", "temp")
    expect(client.get_model_version(MODEL, "2").tags == {"gate": "passed"}, "tags")


@op("get_model_version_download_uri")
def _():
    uri = client.get_model_version_download_uri(MODEL, "1")
    expect(uri == client.get_run(state["fluent"]).info.artifact_uri + "/model", uri)


@op("transition_model_version_stage to Staging")
def _():
    mv = client.transition_model_version_stage(MODEL, "1", "Staging")
    expect(mv.current_stage == "Staging", mv.current_stage)
    expect(client.get_model_version(MODEL, "1").current_stage == "Staging", "kept")


@op("transition_model_version_stage to Production")
def _():
    mv = client.transition_model_version_stage(MODEL, "1", "production")
    expect(mv.current_stage == "Production", mv.current_stage)


@op("transition_model_version_stage with archive_existing_versions")
def _():
    mv = client.transition_model_version_stage(MODEL, "2", "Production", archive_existing_versions=True)
    expect(mv.current_stage == "Production", mv.current_stage)
    expect(client.get_model_version(MODEL, "1").current_stage == "Archived", "not archived")


@op("transition_model_version_stage to an unknown stage is refused")
def _():
    refused(lambda: client.transition_model_version_stage(MODEL, "1", "Shipped"), "INVALID_PARAMETER_VALUE")


@op("get_latest_versions by stage")
def _():
    latest = client.get_latest_versions(MODEL, stages=["Production"])
    expect([v.version for v in latest] == ["2"], latest)
    archived = client.get_latest_versions(MODEL, stages=["Archived"])
    expect([v.version for v in archived] == ["1"], archived)


@op("get_latest_versions of every stage")
def _():
    latest = sorted((v.current_stage, v.version) for v in client.get_latest_versions(MODEL))
    expect(latest == [("Archived", "1"), ("None", "3"), ("Production", "2")], latest)


@op("get_registered_model's latest versions")
def _():
    latest = client.get_registered_model(MODEL).latest_versions
    expect(sorted(v.version for v in latest) == ["1", "2", "3"], latest)


@op("set_registered_model_alias")
def _():
    client.set_registered_model_alias(MODEL, "champion", "2")
    client.set_registered_model_alias(MODEL, "previous", "1")
    expect(client.get_registered_model(MODEL).aliases == {"champion": "2", "previous": "1"}, "aliases")


@op("get_model_version_by_alias")
def _():
    mv = client.get_model_version_by_alias(MODEL, "champion")
    expect(mv.version == "2" and mv.aliases == ["champion"], mv)


@op("get_model_version_by_alias of an unknown alias is refused")
def _():
    refused(lambda: client.get_model_version_by_alias(MODEL, "nobody"), "INVALID_PARAMETER_VALUE")


@op("delete_registered_model_alias")
def _():
    client.set_registered_model_alias(MODEL, "temp", "3")
    client.delete_registered_model_alias(MODEL, "temp")
    expect("temp" not in client.get_registered_model(MODEL).aliases, "alias kept")


@op("download models:/name/version")
def _():
    path = mlflow.artifacts.download_artifacts(f"models:/{MODEL}/1", dst_path=tempfile.mkdtemp(dir=work))
    expect(read(os.path.join(path, "MLmodel")) == "flavors: {}\n", path)


@op("download models:/name@alias")
def _():
    path = mlflow.artifacts.download_artifacts(f"models:/{MODEL}@champion", dst_path=tempfile.mkdtemp(dir=work))
    expect(os.path.exists(os.path.join(path, "data", "weights.bin")), path)


@op("download models:/name/stage")
def _():
    path = mlflow.artifacts.download_artifacts(f"models:/{MODEL}/Production", dst_path=tempfile.mkdtemp(dir=work))
    expect(os.path.exists(os.path.join(path, "MLmodel")), path)


@op("download models:/name/latest")
def _():
    path = mlflow.artifacts.download_artifacts(f"models:/{MODEL}/latest", dst_path=tempfile.mkdtemp(dir=work))
    expect(os.path.exists(os.path.join(path, "MLmodel")), path)


@op("copy_model_version of models:/name/version")
def _():
    mv = client.copy_model_version(f"models:/{MODEL}/1", f"{MODEL}-copy")
    expect(mv.name == f"{MODEL}-copy" and mv.version == "1", mv)
    expect(mv.source == f"models:/{MODEL}/1" and mv.tags == {"t": "1"}, mv)


@op("copy_model_version of models:/name@alias")
def _():
    mv = client.copy_model_version(f"models:/{MODEL}@champion", f"{MODEL}-copy")
    expect(mv.version == "2" and mv.source == f"models:/{MODEL}/2", mv)


@op("download of a copied version")
def _():
    path = mlflow.artifacts.download_artifacts(f"models:/{MODEL}-copy/1", dst_path=tempfile.mkdtemp(dir=work))
    expect(read(os.path.join(path, "MLmodel")) == "flavors: {}\n", path)


@op("copied version's download URI is its source's")
def _():
    uri = client.get_model_version_download_uri(f"{MODEL}-copy", "2")
    expect(uri == client.get_model_version_download_uri(MODEL, "2"), uri)


@op("create_model_version from an s3:// location")
def _():
    mv = client.create_model_version(MODEL, "s3://genre-check-bucket/models/forest")
    uri = client.get_model_version_download_uri(MODEL, mv.version)
    expect(uri == "s3://genre-check-bucket/models/forest", uri)
    state["s3_version"] = mv.version


@op("create_model_version from a local path without run_id is refused")
def _():
    refused(lambda: client.create_model_version(MODEL, "file:///tmp/model"), "INVALID_PARAMETER_VALUE")


@op("create_model_version from a source with .. is refused")
def _():
    refused(
        lambda: client.create_model_version(MODEL, "s3://bucket/a/../../b"), "INVALID_PARAMETER_VALUE"
    )


@op("search_registered_models by name")
def _():
    found = client.search_registered_models(filter_string=f"name LIKE '{MODEL}%'")
    expect(sorted(m.name for m in found) == [MODEL, f"{MODEL}-copy", f"{MODEL}-fresh"], found)


@op("search_registered_models by tag")
def _():
    found = client.search_registered_models(filter_string=f"tags.owner = 'm1' and name = '{MODEL}'")
    expect([m.name for m in found] == [MODEL], found)


@op("search_registered_models ordered and paged")
def _():
    first = client.search_registered_models(f"name LIKE '{MODEL}%'", max_results=2, order_by=["name DESC"])
    second = client.search_registered_models(
        f"name LIKE '{MODEL}%'", max_results=2, order_by=["name DESC"], page_token=first.token
    )
    names = [m.name for m in first] + [m.name for m in second]
    expect(names == [f"{MODEL}-fresh", f"{MODEL}-copy", MODEL], names)


@op("search_model_versions by name")
def _():
    found = client.search_model_versions(f"name = '{MODEL}'")
    expect(sorted(int(v.version) for v in found) == [1, 2, 3, int(state["s3_version"])], found)


@op("search_model_versions by run_id")
def _():
    found = client.search_model_versions(f"run_id = '{state['run']}'")
    expect([(v.name, v.version) for v in found] == [(MODEL, "3")], found)


@op("search_model_versions by tag")
def _():
    found = client.search_model_versions(f"name = '{MODEL}' and tags.gate = 'passed'")
    expect([v.version for v in found] == ["2"], found)


@op("search_model_versions ordered and paged")
def _():
    first = client.search_model_versions(
        f"name = '{MODEL}'", max_results=2, order_by=["version_number ASC"]
    )
    second = client.search_model_versions(
        f"name = '{MODEL}'", max_results=2, order_by=["version_number ASC"], page_token=first.token
    )
    versions = [v.version for v in first] + [v.version for v in second]
    expect(versions == ["1", "2", "3", state["s3_version"]], versions)


@op("mlflow.search_registered_models and search_model_versions")
def _():
    expect(len(mlflow.search_registered_models(filter_string=f"name = '{MODEL}'")) == 1, "models")
    expect(len(mlflow.search_model_versions(filter_string=f"name = '{MODEL}-copy'")) == 2, "versions")


@op("rename_registered_model keeps versions and aliases")
def _():
    client.rename_registered_model(f"{MODEL}-fresh", f"{MODEL}-renamed")
    m = client.get_registered_model(f"{MODEL}-renamed")
    expect([v.version for v in m.latest_versions] == ["1"], m)


@op("delete_model_version")
def _():
    client.delete_model_version(MODEL, "3")
    refused(lambda: client.get_model_version(MODEL, "3"), "RESOURCE_DOES_NOT_EXIST")


@op("a new version after a deletion takes a new number")
def _():
    mv = client.create_model_version(MODEL, f"runs:/{state['fluent']}/model")
    expect(int(mv.version) == int(state["s3_version"]) + 1, mv.version)


@op("delete_registered_model")
def _():
    client.delete_registered_model(f"{MODEL}-renamed")
    refused(lambda: client.get_registered_model(f"{MODEL}-renamed"), "RESOURCE_DOES_NOT_EXIST")


# ---- raw REST calls, through MLflow's own rest utilities
def ok(response):
    expect(response.status_code == 200, f"{response.status_code}: {response.text[:300]}")
    return response.json()


def bad(response, status=400, code="INVALID_PARAMETER_VALUE"):
    expect(response.status_code == status, f"{response.status_code}: {response.text[:300]}")
    body = response.json()
    expect(body.get("error_code") == code, body)
    return body


@op("REST runs/search with experiment_ids as JSON numbers")
def _():
    rest("POST", "/api/2.0/mlflow/experiments/create", {"name": f"{EXP}-numeric"})
    found = ok(rest("POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": [int(state["exp"])], "max_results": 1}))
    expect(len(found["runs"]) == 1, found)


@op("REST runs/create with experiment_id as a JSON number")
def _():
    body = ok(rest("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": int(state["exp"]), "start_time": 1}))
    state["numeric_run"] = body["run"]["info"]["run_id"]
    expect(body["run"]["info"]["experiment_id"] == state["exp"], body)


@op("REST experiments/get with a numeric experiment_id")
def _():
    ok(rest("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": 0}))


@op("REST experiments/create with name 123 is refused")
def _():
    body = bad(rest("POST", "/api/2.0/mlflow/experiments/create", {"name": 123}))
    expect("'name'" in body["message"], body)


@op("REST registered-models/create with name 123 is refused")
def _():
    bad(rest("POST", "/api/2.0/mlflow/registered-models/create", {"name": 123}))


@op("REST runs/set-tag with a numeric value is refused")
def _():
    bad(rest("POST", "/api/2.0/mlflow/runs/set-tag", {"run_id": state["numeric_run"], "key": "k", "value": 5}))


@op("REST runs/log-inputs without datasets is refused")
def _():
    bad(rest("POST", "/api/2.0/mlflow/runs/log-inputs", {"run_id": state["numeric_run"]}))


@op("REST unknown alias answers as MLflow")
def _():
    bad(rest("GET", "/api/2.0/mlflow/registered-models/alias", params={"name": MODEL, "alias": "ghost"}))


@op("REST metrics/get-history-bulk-interval")
def _():
    body = ok(
        rest(
            "GET",
            "/api/2.0/mlflow/metrics/get-history-bulk-interval",
            params={"run_ids": [state["run"]], "metric_key": "many", "max_results": 10},
        )
    )
    steps = [m["step"] for m in body["metrics"]]
    expect(len(steps) >= 10 and steps[0] == 0 and steps[-1] == 999, steps)
    expect(all(m["run_id"] == state["run"] for m in body["metrics"]), body["metrics"][0])


@op("REST metrics/get-history-bulk-interval over two runs and a step range")
def _():
    body = ok(
        rest(
            "GET",
            "/api/2.0/mlflow/metrics/get-history-bulk-interval",
            params={"run_ids": [state["run"], state["fluent"]], "metric_key": "loss", "start_step": 2, "end_step": 5},
        )
    )
    expect([m["step"] for m in body["metrics"]] == [2, 3, 4, 5], body)


@op("REST transition-stage answers the version with its stage")
def _():
    body = ok(
        rest(
            "POST",
            "/api/2.0/mlflow/model-versions/transition-stage",
            {"name": MODEL, "version": "2", "stage": "Staging", "archive_existing_versions": False},
        )
    )
    expect(body["model_version"]["current_stage"] == "Staging", body)


@op("REST mlflow-artifacts multipart create answers 501 with MLflow's message")
def _():
    response = rest(
        "POST", "/api/2.0/mlflow-artifacts/mpu/create/0/x/artifacts/big.bin", {"path": "big.bin", "num_parts": 1}
    )
    expect(response.status_code == 501, response.status_code)
    expect(response.json()["message"].startswith("Multipart upload is not supported"), response.text)


total = passed + len(failures)
print(f"mlflow-client-check: {passed} passed, {len(failures)} failed of {total} operations")
sys.exit(1 if failures else 0)
