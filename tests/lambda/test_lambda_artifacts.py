"""Every function as Lambda would run it: built like ``sam build``, held to Lambda's limits, run under CPython 3.12.

The artifacts are built with the host's ``python3`` (3.11 on this machine) through the Makefile's targets, so a
cross-build that slipped back to host wheels fails here. Each handler then runs in ``python3.12 -I -S`` holding
only the function, its layers (managed ones as pinned stand-ins) and the runtime's boto3, against the local stack
(moto, MariaDB, the Spotify emulator). See local/lambda_check.py.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest

from local import lambda_check as lc

ALL_FUNCTIONS = [*lc.FUNCTION_LAYERS, *lc.IMAGE_FUNCTIONS]
# compiled modules that must load, each one of alternatives (rapidfuzz picks its AVX2 build where the CPU has it);
# a wheel for the wrong Python does not fail the import: rapidfuzz and pybase64 silently fall back to pure Python
RAPIDFUZZ_NATIVE = ("rapidfuzz.distance.metrics_cpp", "rapidfuzz.distance.metrics_cpp_avx2")
NATIVE: dict[str, list[tuple[str, ...]]] = {
    "ChatbotFunction": [RAPIDFUZZ_NATIVE],
    "DynamoSinkFunction": [("google._upb._message",), ("pybase64._pybase64",)],
    "S3SinkFunction": [("pyarrow.lib",), ("google._upb._message",)],
    "CompactFunction": [("pyarrow.lib",)],
    "RelatedBuilderFunction": [("faiss._swigfaiss", "faiss._swigfaiss_avx2", "faiss._swigfaiss_avx512"),
                               ("scipy.sparse._sparsetools",), ("pyarrow.lib",)],
}
LOCAL_OVERRIDES = ("AWS_", "SORI_MYSQL_URL", "SORI_QUERY_ENGINE", "SORI_SPOTIFY_", "SORI_RECCOBEATS_URL",
                   "SORI_CHARTS_CSV_URL", "SORI_HOME", "POWERTOOLS_")


@pytest.fixture(scope="module")
def artifacts() -> dict[str, lc.Artifact]:
    return {fn: lc.build_function(fn) for fn in ALL_FUNCTIONS}


@pytest.fixture(scope="module")
def stack(mysql_server_url, moto_url):
    import requests

    from local.stack import LocalStack

    requests.post(f"{moto_url}/moto-api/reset", timeout=10)  # moto's backends are per process: start clean
    saved = dict(os.environ)  # the stack points this process at itself (AWS_ENDPOINT_URL…): put it back after
    st = LocalStack(consume=False, mysql_server=mysql_server_url, database=f"sori_lc_{uuid.uuid4().hex[:8]}")
    try:
        yield st.start()
    finally:
        st.stop()
        os.environ.clear()
        os.environ.update(saved)
        from sori.settings import get_settings

        get_settings.cache_clear()


def _env(stack: dict, function: str) -> dict[str, str]:
    fn = stack["deployed"]["functions"][function]
    env = {**stack["env"], **{k: str(v) for k, v in (fn.get("environment") or {}).items()}}
    env.update({k: v for k, v in stack["env"].items() if k.startswith(LOCAL_OVERRIDES)})  # the local stack's stand-ins
    env.update({"AWS_LAMBDA_FUNCTION_NAME": fn["name"], "POWERTOOLS_METRICS_DISABLED": "true"})
    return env


def _run(artifacts, stack, function, event, extra_paths=()):
    handler = stack["deployed"]["functions"][function]["handler"]
    out = lc.run_handler(artifacts[function], handler, event, _env(stack, function), extra_paths=extra_paths)
    assert out["version"].startswith("3.12."), out["version"]
    for alternatives in NATIVE.get(function, []):
        assert any(out["modules"].get(m) for m in alternatives), f"{function}: no {alternatives} under python3.12"
    shipped = [str(p) for p in artifacts[function].paths(lc.build_standin("runtime") / "python")]
    for name, f in out["modules"].items():  # nothing came from outside the artifact (no host site-packages)
        if f and "site-packages" in f:
            assert any(f.startswith(p) for p in shipped), (function, name, f)
    ours = [str(p) for p in _our_code(artifacts[function])]
    recompiled = [f for f in out["compiled"] if f.startswith(tuple(ours))]
    # Lambda's file system is read-only: what ships without CPython 3.12 bytecode compiles on every cold start
    assert not recompiled, f"{function} compiled {len(recompiled)} shipped files at run time: {recompiled[:5]}"
    return out["result"]


def _our_code(art):
    """What our build ships (function code, our layers, the image), not the managed layers' stand-ins."""
    return [art.task, *(p for p in art.layers if "standin-" not in str(p)), *([art.image] if art.image else [])]


# ------------------------------------------------------------------------------------------------ the rules

@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_only_binaries_the_python312_x86_64_runtime_loads(artifacts, function):
    assert lc.report(artifacts[function])["foreign_binaries"] == []


@pytest.mark.parametrize("function", list(lc.FUNCTION_LAYERS))
def test_function_and_layers_fit_lambdas_250_mb(artifacts, function):
    r = lc.report(artifacts[function])
    assert 0 < r["unzipped_bytes"] <= lc.LAMBDA_UNZIPPED_MAX, r


@pytest.mark.parametrize("function", list(lc.FUNCTION_LAYERS))
def test_no_layer_overwrites_another(artifacts, function):
    assert lc.report(artifacts[function])["shared_packages"] == {}


def test_code_packages_hold_only_code(artifacts):
    for fn in lc.FUNCTION_LAYERS:
        task = artifacts[fn].task
        assert {p.name for p in task.iterdir()} == {"producers", "consumers", "chatbot"}, fn
        assert lc.dir_bytes(task) < 2_000_000, fn  # never the .venv or the dataset


# ------------------------------------------------------------------------------------------------ the checks can fail

def test_a_wheel_for_the_hosts_python_is_caught(tmp_path):
    (tmp_path / "rapidfuzz-3.14.6.dist-info").mkdir()
    (tmp_path / "rapidfuzz-3.14.6.dist-info" / "WHEEL").write_text(
        "Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n")
    (tmp_path / "pybase64").mkdir()
    (tmp_path / "pybase64" / "_pybase64.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    assert lc.foreign_binaries(tmp_path) == ["pybase64/_pybase64.cpython-311-x86_64-linux-gnu.so",
                                             "rapidfuzz-3.14.6.dist-info: ['cp311-cp311-manylinux_2_17_x86_64', "
                                             "'cp311-cp311-manylinux2014_x86_64']"]


def test_a_mac_or_arm_wheel_is_caught():
    assert not lc.wheel_tag_ok("cp312-cp312-macosx_11_0_arm64")
    assert not lc.wheel_tag_ok("cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64")
    assert lc.wheel_tag_ok("cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64")


def test_protobuf_in_two_layers_is_caught(tmp_path):
    ours, managed = tmp_path / "layer-SoriLayer" / "python", tmp_path / "standin-pandas" / "python"
    for d in (ours, managed):
        (d / "google" / "protobuf").mkdir(parents=True)
    assert lc.shared_packages([ours, managed]) == {"google": ["layer-SoriLayer", "standin-pandas"]}


def test_the_pandas_layer_beside_the_scipy_stack_would_not_fit(artifacts):
    """Why the related builder is an image: its packages as layers would be far over 250 MB."""
    image = artifacts["RelatedBuilderFunction"].image
    assert image is not None and lc.dir_bytes(image) > lc.LAMBDA_UNZIPPED_MAX


def test_the_template_and_the_checker_agree_on_layers():
    from local.provision import load_template

    t = load_template()
    names = {"AwsSdkPandasLayerArn": "pandas", "PowertoolsLayerArn": "powertools"}
    for fn, layers in lc.FUNCTION_LAYERS.items():
        declared = [names.get(x["Ref"], x["Ref"]) for x in t["Resources"][fn]["Properties"]["Layers"]]
        assert tuple(declared) == layers, fn
    for fn, req in lc.IMAGE_FUNCTIONS.items():
        props = t["Resources"][fn]["Properties"]
        assert props["PackageType"] == "Image"
        dockerfile = (lc.REPO / t["Resources"][fn]["Metadata"]["Dockerfile"]).read_text()
        assert f"requirements/{req}" in dockerfile


def test_standins_pin_the_managed_layers_published_versions():
    lines = (lc.REPO / "requirements" / "standin-pandas-layer.txt").read_text().splitlines()
    pins = dict(ln.split("==") for ln in lines if "==" in ln and not ln.startswith("#"))
    assert pins["awswrangler"] == "3.17.0" and pins["pyarrow"] == "24.0.0"
    from local.provision import load_template

    default = load_template()["Parameters"]["AwsSdkPandasLayerArn"]["Default"]
    assert f"/aws-sdk-pandas/{pins['awswrangler']}/" in default


# ------------------------------------------------------------------------------------------------ running them

def test_sinks_run_on_a_kinesis_batch(artifacts, stack):
    from local.mapping import sample_records, synthetic_events

    event = synthetic_events(sample_records(60))[0]
    for fn in ("DynamoSinkFunction", "S3SinkFunction"):
        res = _run(artifacts, stack, fn, event)
        assert res == {"batchItemFailures": []}, (fn, res)


def test_compaction_runs(artifacts, stack):
    res = _run(artifacts, stack, "CompactFunction", {"min_age_days": 0})
    assert isinstance(res, dict)


def test_producers_run_against_the_emulator(artifacts, stack):
    res = _run(artifacts, stack, "CatalogFunction", {"artist_names": ["BTS", "BLACKPINK"]})
    assert res.get("batchItemFailures", []) == [] and res["artists"] >= 2, res
    res = _run(artifacts, stack, "ListeningFunction", {"job": "recently_played"})
    assert isinstance(res, dict), res
    res = _run(artifacts, stack, "ChartsFunction", {"countries": ["kr"]})
    assert isinstance(res, dict), res


def test_charts_drop_runs_on_an_s3_event(artifacts, stack):
    res = _run(artifacts, stack, "ChartsDropFunction", {"Records": []})
    assert isinstance(res, dict), res


def test_related_builder_image_runs(artifacts, stack):
    duck = lc.build_standin("athena") / "python"
    res = _run(artifacts, stack, "RelatedBuilderFunction", {}, extra_paths=[duck])
    assert isinstance(res, dict), res


def test_chatbot_answers_kakao(artifacts, stack):
    body = {"intent": {"id": "i", "name": "similar"}, "userRequest": {
        "timezone": "Asia/Seoul", "utterance": "BTS", "lang": "ko",
        "user": {"id": "u1", "type": "botUserKey", "properties": {}}, "params": {}, "block": {"id": "b", "name": "b"}},
        "bot": {"id": "bot", "name": "sori"}, "action": {"id": "a", "name": "a", "params": {}, "detailParams": {},
                                                         "clientExtra": {}}}
    from local.webhook import http_api_event

    event = http_api_event("POST", "/skill", {"content-type": "application/json",
                                              "x-skill-secret": stack["skill_secret"]},
                           json.dumps(body).encode(), "127.0.0.1", "POST /skill")
    res = _run(artifacts, stack, "ChatbotFunction", event)
    assert res["statusCode"] == 200, res
    reply = json.loads(res["body"])
    assert reply["version"] == "2.0" and reply["template"]["outputs"]


def test_schema_migration_answers_cloudformation(artifacts, stack):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[dict] = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_PUT(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        event = {"RequestType": "Update", "ResponseURL": f"http://127.0.0.1:{srv.server_address[1]}/r",
                 "StackId": "s", "RequestId": "r", "LogicalResourceId": "SchemaMigration",
                 "PhysicalResourceId": "sori-schema", "ResourceProperties": {"SchemaVersion": "1"}}
        res = _run(artifacts, stack, "SchemaMigrationFunction", event)
    finally:
        srv.shutdown()
    assert res["Status"] == "SUCCESS" and got == [res], res


def test_build_dir_is_ignored_by_git():
    assert "build/" in (lc.REPO / ".gitignore").read_text().split()


def teardown_module() -> None:
    shutil.rmtree(lc.WORK / "opt", ignore_errors=True)  # hard links; the cached builds stay

