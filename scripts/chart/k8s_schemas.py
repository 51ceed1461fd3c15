#!/usr/bin/env python3
"""Makes kubeconform's standalone strict schemas from the PyPI package
kubernetes-validate (its schemas point into a shared _definitions.json under
/api/, which kubeconform cannot resolve): each kind's file gets the
definitions it reaches, inlined under $defs. Usage: k8s_schemas.py SRC_DIR OUT_DIR"""
import json, pathlib, re, sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
defs = json.loads((src / "_definitions.json").read_text())["$defs"]
REF = re.compile(r'"\$ref": "(?:/api/_definitions.json)?#/\$defs/([^"]+)"')


def reach(text, seen):
    for name in REF.findall(text):
        if name not in seen:
            seen.add(name)
            reach(json.dumps(defs[name]), seen)
    return seen


out.mkdir(parents=True, exist_ok=True)
n = 0
for f in sorted(src.glob("*.json")):
    if f.name in ("_definitions.json", "all.json"):
        continue
    text = f.read_text()
    schema = json.loads(text.replace('"/api/_definitions.json#/$defs/', '"#/$defs/'))
    schema.pop("$id", None)  # relative (/api/...): it would rebase every reference
    needed = reach(text, set())
    if needed:
        schema["$defs"] = {k: json.loads(json.dumps(defs[k]).replace('"/api/_definitions.json#/$defs/', '"#/$defs/')) for k in needed}
    (out / f.name).write_text(json.dumps(schema))
    n += 1
print(f"k8s_schemas: {n} schemas in {out}")
