"""The Lambda-faithful check: build every function the way ``sam build`` does, then hold it to Lambda's rules.

No Docker. For each function of ``template.yaml``:

1. **build** its artifact with the same ``make build-<LogicalId>`` targets ``sam build`` runs (``BuildMethod:
   makefile``), with the host's ``python3`` (3.11 on this machine: the cross-build for CPython 3.12 is exercised);
   the container-image function gets its image's ``pip install`` (``requirements/related-image.txt``) the same way;
2. **assemble** what Lambda puts on ``sys.path``: the function (``/var/task``), its layers unpacked in order into
   one ``/opt/python`` (a later layer overwrites an earlier one's files, as on Lambda), the managed layers as
   stand-ins pinned to their published versions (``requirements/standin-*.txt``) and the runtime's own boto3;
3. **check** the unzipped size (function + layers ≤ 262,144,000 bytes), that every binary wheel is for
   CPython 3.12 manylinux x86_64 (or abi3/pure), and that no two layers of a function ship the same package;
4. **run** the handler in ``python3.12 -I -S -B`` (no site-packages: only the assembled paths; no bytecode written,
   as /var/task and /opt are read-only) on an event.

Everything lands under ``build/lambda-check/``; pip's downloads are cached there, so a second run is fast.

>>> sorted(FUNCTION_LAYERS)[:2]
['CatalogFunction', 'ChartsDropFunction']
>>> wheel_tag_ok("cp312-cp312-manylinux_2_17_x86_64"), wheel_tag_ok("cp311-cp311-manylinux_2_17_x86_64")
(True, False)
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "lambda-check"
LAMBDA_UNZIPPED_MAX = 262_144_000  # 250 MB: function + all its layers, unzipped (Lambda quotas)
RUNTIME_PYTHON = "3.12"

#: Which layers each zip function takes, in order (template.yaml); managed layers by their stand-in requirements.
FUNCTION_LAYERS: dict[str, tuple[str, ...]] = {
    "ChartsFunction": ("SoriLayer", "powertools"),
    "ChartsDropFunction": ("SoriLayer", "powertools"),
    "CatalogFunction": ("SoriLayer", "powertools"),
    "ListeningFunction": ("SoriLayer", "powertools"),
    "DynamoSinkFunction": ("SoriLayer", "powertools"),
    "S3SinkFunction": ("SoriPandasLayer", "powertools", "pandas"),
    "CompactFunction": ("SoriPandasLayer", "powertools", "pandas"),
    "ChatbotFunction": ("SoriLayer", "powertools"),
    "SchemaMigrationFunction": ("SoriLayer", "powertools"),
}
IMAGE_FUNCTIONS = {"RelatedBuilderFunction": "related-image.txt"}
STANDINS = {"runtime": "standin-runtime.txt", "pandas": "standin-pandas-layer.txt",
            "powertools": "standin-powertools-layer.txt", "athena": "standin-athena-duckdb.txt"}
#: Stand-ins that carry CPython 3.12 bytecode like what they stand for: the Powertools layer's canary fails a
#: release whose layer recompiles source instead of using its bytecode (aws-powertools/powertools-lambda-python
#: @015dcd1 layer_v3/layer/canary/bytecode_monitor.py); the runtime's boto3 is taken to be precompiled as well.
#: The pandas stand-in carries none (a worst case for its cold start, and its size is what matters here).
BYTECODE_STANDINS = frozenset({"powertools", "runtime"})
#: What the real managed pandas layer's build leaves out (aws-sdk-pandas @75b639a building/lambda/build-lambda-layer.sh:
#: it removes boto*, urllib3*, s3transfer* and every */tests/* file, and builds pyarrow without Flight). Its
#: libarrow is also built without S3, ORC or Substrait, which a PyPI wheel's (linked against them) cannot shed: the
#: stand-in is therefore larger than the real layer, so a function that fits with it fits on Lambda.
PANDAS_LAYER_DROPS = ("boto3", "botocore", "urllib3", "s3transfer", "pyarrow/libarrow_flight*", "pyarrow/_flight*",
                      "pyarrow/include", "*/tests", "*/*/tests")


@dataclass(frozen=True)
class Artifact:
    """One function as Lambda would hold it: ``task`` (its code) and the ordered layer dirs or the image dir."""

    function: str
    task: Path
    layers: tuple[Path, ...]
    image: Path | None = None

    def paths(self, runtime: Path) -> list[Path]:
        """``sys.path`` as the runtime builds it: /var/task, /opt/python, the runtime's own packages."""
        if self.image is not None:
            return [self.task, self.image, runtime]
        return [self.task, opt_dir(self), runtime]

    def unzipped_bytes(self) -> int:
        """Function + layers (or the image's packages), as Lambda counts them against 250 MB."""
        parts = [self.task, *(self.layers if self.image is None else (self.image,))]
        return sum(dir_bytes(p) for p in parts)


# ------------------------------------------------------------------------------------------------- building

def find_python312() -> str:
    """A CPython 3.12 interpreter to play the Lambda runtime: ``SORI_PYTHON312``, PATH, or pyenv's."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    cands = [os.environ.get("SORI_PYTHON312"), *(str(p / "bin" / "python3.12") for p in sorted(pyenv.glob("3.12.*"),
                                                                                             reverse=True)),
             shutil.which("python3.12"), "/usr/bin/python3.12"]
    for c in cands:  # a pyenv shim exists but may refuse to run: try each
        if c and Path(c).exists() and subprocess.run([c, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                                                     check=False, capture_output=True).returncode == 0:
            return c
    raise RuntimeError("no CPython 3.12 found to play the python3.12 Lambda runtime: install python3.12 "
                       "(pyenv install 3.12, or apt's python3.12) or set SORI_PYTHON312")


def _digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _make(target: str, out: Path, python: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["make", "-s", "-C", str(REPO), target, f"ARTIFACTS_DIR={out}", f"PYTHON={python}"],
                   check=True, env={**os.environ, "PIP_CACHE_DIR": str(WORK / "pip-cache")})


def _cached(name: str, key: str, build: Any) -> Path:
    """``build(dir)`` once per ``key``; a stamp file marks a finished build (a crash mid-way builds again)."""
    d = WORK / name
    stamp = d / ".built"
    if stamp.exists() and stamp.read_text() == key:
        return d
    shutil.rmtree(d, ignore_errors=True)
    build(d)
    stamp.write_text(key)
    return d


def lambda_pip(target: Path, requirements: Path, python: str, *extra: str) -> None:
    """``pip install --target`` with the Makefile's Lambda-runtime wheel selection (``LAMBDA_PIP``)."""
    flags = subprocess.run(["make", "-s", "-C", str(REPO), "print-lambda-pip", f"PYTHON={python}"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run([*flags, "--target", str(target), "-r", str(requirements), *extra], check=True,
                   cwd=requirements.parent, env={**os.environ, "PIP_CACHE_DIR": str(WORK / "pip-cache")})


def build_layer(name: str, python: str = "python3") -> Path:
    """``make build-<name>`` (SoriLayer, SoriPandasLayer): pip part cached by its requirements; ``sori/`` fresh."""
    req = REPO / "requirements" / ("sori-layer.txt" if name == "SoriLayer" else "sori-layer-pandas.txt")
    d = _cached(f"layer-{name}", _digest(req, REPO / "Makefile") + python,
                lambda d: _make(f"build-{name}", d, python))
    shutil.rmtree(d / "python" / "sori", ignore_errors=True)  # the code may have changed since: copy it again
    shutil.copytree(REPO / "sori", d / "python" / "sori", ignore=shutil.ignore_patterns("__pycache__"))
    compile_for_runtime(d / "python" / "sori")
    return d


def makefile_python312() -> str:
    """The CPython 3.12 the Makefile's build targets compile bytecode with ("" when the host has none)."""
    return subprocess.run(["make", "-s", "-C", str(REPO), "print-python312"], check=True, capture_output=True,
                          text=True).stdout.strip()


def compile_for_runtime(d: Path, python: str | None = None) -> None:
    """Checked-hash CPython 3.12 bytecode for ``d``, as the Makefile's ``lambda_pyc`` writes it."""
    py = python or makefile_python312()
    if py:
        subprocess.run([py, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "checked-hash", str(d)],
                       check=True, stdout=subprocess.DEVNULL)


def build_standin(name: str) -> Path:
    """A managed layer (or the runtime's SDK) as pip installs its published versions for the runtime."""
    req = REPO / "requirements" / STANDINS[name]

    def build(d: Path) -> None:
        lambda_pip(d / "python", req, "python3")
        if name in BYTECODE_STANDINS:
            compile_for_runtime(d / "python", find_python312())
        if name == "pandas":
            for drop in PANDAS_LAYER_DROPS:
                for p in (d / "python").glob(drop if "/" in drop else f"{drop}*"):
                    if p.is_dir():
                        shutil.rmtree(p)
                    else:
                        p.unlink()

    return _cached(f"standin-{name}", _digest(req, REPO / "Makefile"), build)


def build_image(function: str) -> Path:
    """The container image's packages (its Dockerfile's ``pip install``), for CPython 3.12 x86_64."""
    req = REPO / "requirements" / IMAGE_FUNCTIONS[function]
    return _cached(f"image-{function}", _digest(req, REPO / "requirements" / "sori-layer.txt", REPO / "Makefile"),
                   lambda d: _image_pip(d, req))


def _image_pip(d: Path, req: Path) -> None:
    lambda_pip(d, req, "python3")
    compile_for_runtime(d, find_python312())  # the image's own pip (CPython 3.12) compiles what it installs


def build_function(function: str, python: str = "python3") -> Artifact:
    """Build ``function`` (and what it needs) the way ``sam build`` does; return it assembled."""
    task = WORK / "task" / function
    shutil.rmtree(task, ignore_errors=True)
    if function in IMAGE_FUNCTIONS:  # the Dockerfile copies sori/ and consumers/ beside the packages
        task.mkdir(parents=True)
        for pkg in ("sori", "consumers"):
            shutil.copytree(REPO / pkg, task / pkg, ignore=shutil.ignore_patterns("__pycache__", "Dockerfile"))
            compile_for_runtime(task / pkg, find_python312())  # the Dockerfile's compileall
        return Artifact(function, task, (), image=build_image(function))
    _make(f"build-{function}", task, python)
    layers = []
    for layer in FUNCTION_LAYERS[function]:
        layers.append(build_standin(layer) if layer in STANDINS else build_layer(layer, python))
    art = Artifact(function, task, tuple(p / "python" for p in layers))
    assemble_opt(art)
    return art


def opt_dir(art: Artifact) -> Path:
    return WORK / "opt" / art.function / "python"


def assemble_opt(art: Artifact) -> Path:
    """Unpack the layers into one ``/opt/python`` in order, later files replacing earlier ones (hard links)."""
    opt = opt_dir(art)
    shutil.rmtree(opt.parent, ignore_errors=True)
    for layer in art.layers:
        for src in layer.rglob("*"):
            dst = opt / src.relative_to(layer)
            if src.is_dir():
                dst.mkdir(parents=True, exist_ok=True)
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists():
                dst.unlink()
            os.link(src, dst)
    return opt


# ------------------------------------------------------------------------------------------------- checking

def dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file() and p.name != ".built")


_TAG = re.compile(r"^(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>.+)$")


def wheel_tag_ok(tag: str, python: str = RUNTIME_PYTHON) -> bool:
    """Would Lambda's python3.12 x86_64 runtime load a wheel with this tag?

    >>> wheel_tag_ok("py3-none-any"), wheel_tag_ok("cp312-abi3-manylinux_2_28_x86_64")
    (True, True)
    >>> wheel_tag_ok("cp312-cp312-macosx_11_0_arm64"), wheel_tag_ok("cp312-cp312-manylinux_2_28_aarch64")
    (False, False)
    """
    m = _TAG.match(tag)
    if not m:
        return False
    cp = "cp" + python.replace(".", "")
    plats = m["plat"].split(".")
    if m["abi"] == "none" and m["plat"] == "any":
        return True
    if not all(p.startswith(("manylinux", "musllinux")) and p.endswith("x86_64") for p in plats):
        return False
    if m["abi"] == "abi3":
        return m["py"].startswith("cp3")
    return m["abi"] == cp and cp in m["py"].split(".")


def wheel_tags(d: Path) -> dict[str, list[str]]:
    """``{dist-info name: [Tag, ...]}`` of every distribution pip installed into ``d``."""
    out = {}
    for wheel in d.glob("*.dist-info/WHEEL"):
        out[wheel.parent.name] = [ln.split(":", 1)[1].strip() for ln in wheel.read_text().splitlines()
                                  if ln.startswith("Tag:")]
    return out


_EXT = re.compile(r"\.cpython-(\d+)-([a-z0-9_]+)-linux-gnu\.so$")


def foreign_binaries(d: Path, python: str = RUNTIME_PYTHON) -> list[str]:
    """Wheels and extension modules under ``d`` that the runtime cannot load (wrong Python, OS or CPU)."""
    bad = [f"{dist}: {tags}" for dist, tags in wheel_tags(d).items() if not any(wheel_tag_ok(t, python) for t in tags)]
    want = python.replace(".", "")
    for so in d.rglob("*.so"):
        m = _EXT.search(so.name)
        if m and (m[1] != want or m[2] != "x86_64"):
            bad.append(str(so.relative_to(d)))
    return sorted(bad)


def shared_packages(layers: Iterable[Path]) -> dict[str, list[str]]:
    """Top-level packages that one of our layers ships beside another layer (the later one silently overwrites the
    earlier's files). Overlaps between two managed layers (Powertools' and pandas' typing_extensions) are AWS's."""
    seen: dict[str, list[str]] = {}
    for layer in layers:
        for p in layer.iterdir():
            if p.name.endswith((".dist-info", ".egg-info")) or p.name in {"bin", "__pycache__", ".built"}:
                continue
            seen.setdefault(p.name.removesuffix(".py"), []).append(layer.parent.name)
    return {k: v for k, v in seen.items() if len(v) > 1 and not all(x.startswith("standin-") for x in v)}


# ------------------------------------------------------------------------------------------------- running

_BOOT = r'''
import importlib, json, sys, time, uuid
paths, handler, event_file, out_file, name = sys.argv[1:6]
sys.path[:0] = json.loads(paths)
from importlib.machinery import SourceFileLoader
compiled, _to_code = [], SourceFileLoader.source_to_code
def _track(loader, data, path, *a, **kw):  # a module compiled now had no usable bytecode in the artifact
    compiled.append(path)
    return _to_code(loader, data, path, *a, **kw)
SourceFileLoader.source_to_code = _track

class Context:
    function_name = name
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:ap-northeast-2:123456789012:function:" + name
    aws_request_id = str(uuid.uuid4())
    function_version = "$LATEST"
    log_group_name = "/aws/lambda/" + name
    log_stream_name = "lambda-check"
    _t = time.monotonic()
    def get_remaining_time_in_millis(self):
        return int(max(0, 900 - (time.monotonic() - self._t)) * 1000)

mod, fn = handler.rsplit(".", 1)
result = getattr(importlib.import_module(mod), fn)(json.load(open(event_file)), Context())
files = {n: getattr(m, "__file__", None) for n, m in list(sys.modules.items())}
import resource
u = resource.getrusage(resource.RUSAGE_SELF)
json.dump({"result": result, "modules": files, "version": sys.version, "path": sys.path,
           "cpu_s": u.ru_utime + u.ru_stime, "compiled": compiled}, open(out_file, "w"), default=str)
'''


def run_handler(art: Artifact, handler: str, event: Mapping[str, Any], env: Mapping[str, str],
                extra_paths: Iterable[Path] = (), timeout: float = 600) -> dict[str, Any]:
    """Call ``handler`` on ``event`` in ``python3.12 -I -S`` holding only the artifact's paths.

    ``extra_paths`` come last: stand-ins for services of the local stack (DuckDB for Athena), never packages the
    function should ship. Returns ``{"result", "modules" (name -> file), "version", "path", "cpu_s"`` (the
    child's CPU seconds from interpreter start to the handler's return: a cold start plus one invocation)``,
    "compiled"`` (source files compiled at run time for want of usable bytecode)``}``.
    """
    WORK.mkdir(parents=True, exist_ok=True)
    ev = WORK / f"event-{art.function}.json"
    out = WORK / f"result-{art.function}.json"
    ev.write_text(json.dumps(event))
    out.unlink(missing_ok=True)
    paths = [str(p) for p in [*art.paths(build_standin("runtime") / "python"), *extra_paths]]
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TZ"}}
    # -B: /var/task and /opt are read-only on Lambda, so no __pycache__ is ever written there
    proc = subprocess.run([find_python312(), "-I", "-S", "-B", "-c", _BOOT, json.dumps(paths), handler, str(ev),
                           str(out), art.function], check=False, env={**keep, **env, "LAMBDA_TASK_ROOT": str(art.task)},
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{art.function} failed under python3.12:\n{proc.stderr[-4000:]}")
    return dict(json.loads(out.read_text()))


def report(art: Artifact) -> dict[str, Any]:
    """Size and binary-compatibility figures of one built function (bench/lambda_sizes.py prints these)."""
    parts = [art.task, *(art.layers if art.image is None else (art.image,))]
    return {"function": art.function, "package": "image" if art.image else "zip",
            "unzipped_bytes": art.unzipped_bytes(), "limit_bytes": None if art.image else LAMBDA_UNZIPPED_MAX,
            "foreign_binaries": sorted(b for p in parts for b in foreign_binaries(p)),
            "shared_packages": shared_packages(art.layers) if art.image is None else {}}


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - thin CLI
    for fn in [*FUNCTION_LAYERS, *IMAGE_FUNCTIONS]:
        print(json.dumps(report(build_function(fn))))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
