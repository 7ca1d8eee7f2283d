"""Load template.yaml, package the code (what ``sam package`` does) and SAM-transform it offline."""
from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "template.yaml"
FUNCTION_PACKAGES = ("producers", "consumers", "chatbot")
LAYER_PACKAGES = ("sori",)
DEFAULT_REGION = "ap-northeast-2"
DEFAULT_STACK = "sori-local"

#: AWS managed policies the transform may name (SAM adds these by ARN for event sources); offline stand-in for
#: IAM ``ListPolicies`` so the transform never reaches the network.
MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/service-role/{name}"
    for name in ("AWSLambdaBasicExecutionRole", "AWSLambdaKinesisExecutionRole", "AWSLambdaSQSQueueExecutionRole",
                 "AWSLambdaVPCAccessExecutionRole", "AWSLambdaDynamoDBExecutionRole", "AWSGlueServiceRole")
}


def load_template(path: str | Path = TEMPLATE_PATH) -> dict:
    """The SAM template as a plain dict, short tags expanded (``!Ref X`` -> ``{"Ref": "X"}``).

    >>> load_template()["Transform"]
    'AWS::Serverless-2016-10-31'
    """
    from samtranslator.yaml_helper import yaml_parse

    return json.loads(json.dumps(yaml_parse(Path(path).read_text(encoding="utf-8"))))


def zip_packages(packages: Iterable[str], root: Path = REPO, prefix: str = "") -> bytes:
    """A deterministic zip of Python packages (``__pycache__`` and ``*.pyc`` left out), optionally under ``prefix``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in packages:
            for p in sorted((root / pkg).rglob("*")):
                if p.is_dir() or "__pycache__" in p.parts or p.suffix == ".pyc":
                    continue
                info = zipfile.ZipInfo(prefix + p.relative_to(root).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                zf.writestr(info, p.read_bytes())
    return buf.getvalue()


def package(template: dict, upload: Callable[[bytes], str], image_uri: Callable[[str], str] | None = None) -> dict:
    """Point every function's ``CodeUri`` and every layer's ``ContentUri`` at uploaded zips (``sam package``).

    ``upload(data) -> "s3://bucket/key"``. Container-image functions get ``ImageUri = image_uri(logical_id)``, as
    ``sam package`` gives them; without ``image_uri`` (moto, which runs no images) they are deployed as the zip
    function their image holds. Returns a new template; the input is not changed.
    """
    t = copy.deepcopy(template)
    code_uri = upload(zip_packages(FUNCTION_PACKAGES))
    layer_uri = upload(zip_packages(LAYER_PACKAGES, prefix="python/"))
    t.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for lid, res in t["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            if res.get("Properties", {}).get("PackageType") == "Image" and image_uri is not None:
                res["Properties"]["ImageUri"] = image_uri(lid)
                continue
            _image_as_zip(res)
            res.setdefault("Properties", {})["CodeUri"] = code_uri
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            res.setdefault("Properties", {})["ContentUri"] = layer_uri
    return t


def _image_as_zip(res: dict) -> None:
    """moto cannot run container images: deploy an image function as the zip function its image holds.

    The image's ``CMD`` (``ImageConfig.Command``) is the handler; the local runners call it in-process like every
    other handler. What the image itself contains is checked by tests/lambda, not here.
    """
    props = res.get("Properties", {})
    if props.get("PackageType") != "Image":
        return
    props.pop("PackageType")
    props["Handler"] = props.pop("ImageConfig")["Command"][0]
    props["Runtime"] = "python3.12"  # the image's base: public.ecr.aws/lambda/python:3.12
    res.pop("Metadata", None)


def sam_transform(template: dict, region: str = DEFAULT_REGION, parameters: Mapping[str, Any] | None = None) -> dict:
    """SAM -> plain CloudFormation with aws-sam-translator, offline."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    out = translator.translate(copy.deepcopy(template), dict(parameters or {}),
                               get_managed_policy_map=lambda: dict(MANAGED_POLICIES))
    return json.loads(json.dumps(out))
