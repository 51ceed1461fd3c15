#!/usr/bin/env python3
"""Converts CustomResourceDefinition YAMLs into kubeconform's JSON schemas,
offline: OUT/<group>/<kind>_<version>.json, strict (an object with listed
properties refuses others unless the CRD preserves unknown fields), with
Kubernetes' OpenAPI extensions mapped to JSON Schema (int-or-string).
Usage: crd2jsonschema.py OUT CRD.yaml..."""
import json, pathlib, sys
import yaml


def convert(node):
    if isinstance(node, list):
        return [convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out = {"anyOf": [{"type": "string"}, {"type": "integer"}], **{k: v for k, v in out.items() if k != "anyOf"}}
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable"):
        out.pop("nullable")
        if "type" in out:
            out["type"] = [out["type"], "null"]
    return out


def main():
    out_dir = pathlib.Path(sys.argv[1])
    count = 0
    for path in sys.argv[2:]:
        for crd in yaml.safe_load_all(open(path)):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            group, kind = spec["group"], spec["names"]["kind"].lower()
            for version in spec["versions"]:
                schema = convert(version["schema"]["openAPIV3Schema"])
                props = schema.setdefault("properties", {})
                props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
                props["kind"] = {"type": "string", "enum": [spec["names"]["kind"]]}
                props["metadata"] = {"type": "object"}
                schema["additionalProperties"] = False
                target = out_dir / group / f"{kind}_{version['name']}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema))
                count += 1
    print(f"crd2jsonschema: {count} schemas in {out_dir}")


main()
