"""CloudFormation intrinsics evaluated locally: references, conditions, ``Ref``/``GetAtt``/``Sub`` substitution."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

NO_VALUE = object()  # AWS::NoValue
PSEUDO = ("AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::Partition", "AWS::URLSuffix", "AWS::StackId",
          "AWS::NoValue", "AWS::NotificationARNs")


_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_parts(node: Any) -> tuple[str, dict]:
    return (node, {}) if isinstance(node, str) else (node[0], node[1])


def references(node: Any) -> set[str]:
    """Logical ids (resources, parameters or pseudo parameters) a template fragment refers to."""
    out: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node and len(node) == 1:
            out.add(node["Ref"])
            return out
        if "Fn::GetAtt" in node and len(node) == 1:
            ga = node["Fn::GetAtt"]
            out.add(ga.split(".", 1)[0] if isinstance(ga, str) else ga[0])
            return out
        if "Fn::Sub" in node and len(node) == 1:
            text, mapping = _sub_parts(node["Fn::Sub"])
            for var in _SUB_VAR.findall(text):
                name = var.split(".", 1)[0]
                if var not in mapping:
                    out.add(name)
            for v in mapping.values():
                out |= references(v)
            return out
        for v in node.values():
            out |= references(v)
    elif isinstance(node, list):
        for v in node:
            out |= references(v)
    return out


def resource_deps(res: dict) -> set[str]:
    """Resources one resource depends on: its references plus ``DependsOn``."""
    deps = references(res.get("Properties", {})) | references(res.get("Condition", []))
    dep_on = res.get("DependsOn", [])
    deps |= {dep_on} if isinstance(dep_on, str) else set(dep_on)
    return deps


class Resolver:
    """Evaluates CloudFormation intrinsics against known values.

    ``values`` maps parameter/pseudo names and resource logical ids to their Ref value; ``attribute(logical_id,
    name)`` answers GetAtt. Conditions are evaluated from the template's ``Conditions``.
    """

    def __init__(self, template: dict, values: dict[str, Any], attribute: Callable[[str, str], Any]):
        self.template = template
        self.values = values
        self.attribute = attribute
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template.get("Conditions", {})[name]))
        return self._conditions[name]

    def resolve(self, node: Any) -> Any:  # noqa: C901 - one branch per intrinsic
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                if arg not in self.values:
                    raise KeyError(f"unresolved Ref {arg}")
                return self.values[arg]
            if key == "Fn::GetAtt":
                lid, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.attribute(lid, attr)
            if key == "Fn::Sub":
                text, mapping = _sub_parts(arg)
                local = {k: self.resolve(v) for k, v in mapping.items()}

                def one(m: re.Match) -> str:
                    var = m.group(1)
                    if var in local:
                        return str(local[var])
                    if "." in var:
                        return str(self.attribute(*var.split(".", 1)))
                    return str(self.resolve({"Ref": var}))

                return _SUB_VAR.sub(one, text).replace("${!", "${")
            if key == "Fn::Join":
                return arg[0].join(str(x) for x in self.resolve(arg[1]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::FindInMap":
                m = self.template["Mappings"][self.resolve(arg[0])]
                return m[self.resolve(arg[1])][self.resolve(arg[2])]
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(arg))
        out = {}
        for k, v in node.items():
            rv = self.resolve(v)
            if rv is not NO_VALUE:
                out[k] = rv
        return out


def substitute(node: Any, known: Mapping[str, Any], attribute: Callable[[str, str], Any]) -> Any:
    """Replace Refs/GetAtts to the logical ids in ``known`` by literals; leave everything else to CloudFormation."""
    if isinstance(node, list):
        return [substitute(x, known, attribute) for x in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref" and arg in known:
            return known[arg]
        if key == "Fn::GetAtt":
            lid, attr = arg.split(".", 1) if isinstance(arg, str) else arg
            if lid in known:
                return attribute(lid, attr)
        if key == "Fn::Sub":
            text, mapping = _sub_parts(arg)

            def one(m: re.Match) -> str:
                var = m.group(1)
                name = var.split(".", 1)[0]
                if var in mapping or name not in known:
                    return m.group(0)
                return str(attribute(*var.split(".", 1)) if "." in var else known[var])

            new_text = _SUB_VAR.sub(one, text)
            new_map = {k: substitute(v, known, attribute) for k, v in mapping.items()}
            return {"Fn::Sub": [new_text, new_map] if new_map else new_text}
    return {k: substitute(v, known, attribute) for k, v in node.items()}


def fold_conditions(node: Any, resolver: Resolver) -> Any:
    """Evaluate every ``Fn::If`` (conditions depend on parameters only) and drop ``AWS::NoValue``.

    moto keeps a ``None`` where ``Fn::If`` yields ``AWS::NoValue`` inside a list (e.g. an IAM role's ``Policies``)
    and then fails; folding first gives it the template CloudFormation itself would evaluate.
    """
    if isinstance(node, list):
        return [v for v in (fold_conditions(x, resolver) for x in node) if v is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and "Fn::If" in node:
        cond, yes, no = node["Fn::If"]
        return fold_conditions(yes if resolver.condition(cond) else no, resolver)
    if node == {"Ref": "AWS::NoValue"}:
        return NO_VALUE
    out = {}
    for k, v in node.items():
        fv = fold_conditions(v, resolver)
        if fv is not NO_VALUE:
            out[k] = fv
    return out
