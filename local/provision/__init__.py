"""Deploy ``template.yaml`` into moto: the local stack runs exactly what the cloud runs (docs/ARCHITECTURE.md §5).

The steps mirror ``sam package && sam deploy``, offline::

    deployed = deploy("http://127.0.0.1:5000")           # returns a description of the stack
    deployed["functions"]["DynamoSinkFunction"]["environment"]["SORI_TOP_TRACKS_TABLE"]
    deployed["event_source_mappings"][0]["bisect"]        # as configured in the template
    write_secrets("http://127.0.0.1:5000", deployed, {"SpotifySecret": {"client_id": "id", "client_secret": "s"}})

1. load the SAM template (short tags ``!Ref``/``!Sub``… via samtranslator's YAML loader);
2. zip the code (functions: producers/ consumers/ chatbot/; layer: sori/ under ``python/``) into an artifacts bucket
   and point ``CodeUri``/``ContentUri`` at it (what ``sam package`` does);
3. SAM-transform it with aws-sam-translator, offline (a fixed managed-policy map; no IAM call);
4. split the transformed template: resource types moto's CloudFormation does not implement (:data:`SELF_PROVISIONED`)
   are created here with plain boto3 calls, from the same transformed template (names, columns, configuration
   all come from it). Those that only depend on parameters are created *before* the stack and their Refs/GetAtts
   are substituted into the stack template as literals, so moto's Lambda environments carry real ARNs/names;
   those that depend on stack resources (the HTTP API needs the chatbot's ARN, the crawler its role) are created
   *after*, and the few stack resources that in turn depend on them (the API's Lambda permission) are deferred;
5. ``create_stack`` in moto's CloudFormation (template uploaded to S3, ``TemplateURL``) and wait;
6. fill the gaps where moto's CloudFormation creates a resource but ignores properties (:data:`GAP_FILLERS`:
   stream encryption/mode, TTL/PITR, bucket public-access-block/lifecycle/notifications, function layers);
7. read back what moto holds and return it (:func:`describe`): functions with their resolved environment, the
   event source mappings with every retry/bisect/destination knob, schedules, the HTTP route, outputs.

moto 5.2.5 gaps this works around (each in one place, named after what it fixes):

* CloudFormation skips unknown types (Secrets Manager, Glue, Athena, API Gateway v2, Scheduler, S3 bucket policies)
  with a warning and silently drops any property that Refs them -> :data:`SELF_PROVISIONED` + pre-substitution;
* ``Fn::If`` yielding ``AWS::NoValue`` inside a list becomes ``None`` and crashes IAM -> :func:`fold_conditions`
  (conditions depend on parameters only, so folding them first is what CloudFormation computes anyway);
* ``/aws/...`` SSM names are reserved and moto resolves SSM-typed parameter *defaults* before overrides -> the public
  layer-ARN parameters are mirrored under ``/<stack>/ssm-mirror/aws/...`` (defaults rewritten in the stack body),
  their value a stand-in layer published in moto, because moto's Lambda refuses unknown layer ARNs (locally the
  venv provides pandas/Powertools);
* created-but-partial types (stream mode/encryption, TTL/PITR, bucket settings, function layers) -> :data:`GAP_FILLERS`;
* layer versions get a generated name and no physical id; Ref to one is garbage -> :func:`_missing_physical_id`;
* ApiGatewayV2 ``ImportApi`` is not implemented, ``ReimportApi`` is -> create an empty API and reimport the body;
* moto evaluates bucket policies and the endpoint is plain HTTP -> the deny-without-TLS statement is left out locally.

moto cannot run Lambda code (no Docker): nothing invokes through it. The S3 notification is still configured (so the
deployed truth is visible); moto tries and fails to invoke on a matching PUT and logs it; ``local/`` runners call the
handlers in-process instead, from this module's description of the stack.

Split by concern (issue 13): :mod:`~local.provision.template` (load, package, SAM transform),
:mod:`~local.provision.intrinsics`, :mod:`~local.provision.moto_gaps` (what moto's CloudFormation skips),
:mod:`~local.provision.deploy` (deploy, describe, write_secrets). The public names are re-exported here.
"""
from __future__ import annotations

from local.provision.deploy import deploy, describe, plan, write_secrets
from local.provision.intrinsics import (
                                      NO_VALUE,
                                      PSEUDO,
                                      Resolver,
                                      fold_conditions,
                                      references,
                                      resource_deps,
                                      substitute,
)
from local.provision.moto_gaps import DEFERRABLE, GAP_FILLERS, SELF_PROVISIONED, Ctx
from local.provision.template import (
                                      DEFAULT_REGION,
                                      DEFAULT_STACK,
                                      FUNCTION_PACKAGES,
                                      LAYER_PACKAGES,
                                      MANAGED_POLICIES,
                                      REPO,
                                      TEMPLATE_PATH,
                                      load_template,
                                      package,
                                      sam_transform,
                                      zip_packages,
)

__all__ = [
                                      "DEFAULT_REGION",
                                      "DEFAULT_STACK",
                                      "DEFERRABLE",
                                      "FUNCTION_PACKAGES",
                                      "GAP_FILLERS",
                                      "LAYER_PACKAGES",
                                      "MANAGED_POLICIES",
                                      "NO_VALUE",
                                      "PSEUDO",
                                      "REPO",
                                      "SELF_PROVISIONED",
                                      "TEMPLATE_PATH",
                                      "Ctx",
                                      "Resolver",
                                      "deploy",
                                      "describe",
                                      "fold_conditions",
                                      "load_template",
                                      "package",
                                      "plan",
                                      "references",
                                      "resource_deps",
                                      "sam_transform",
                                      "substitute",
                                      "write_secrets",
                                      "zip_packages"
]
