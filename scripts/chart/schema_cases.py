#!/usr/bin/env python3
"""Writes charts/casa-runtime/tests/schema_test.yaml: one helm-unittest case per
rule of values.schema.json (every additionalProperties, type, enum, range,
length, pattern, required, items, minItems, uniqueItems, minProperties,
propertyNames, anyOf, not), each a values set that breaks that rule alone and
must fail to render at that rule's place. `--check` fails when the committed
suite is not what the schema gives (scripts/test-chart runs it)."""
import copy, json, re, sys, pathlib

chart = pathlib.Path(__file__).resolve().parents[2] / "charts/casa-runtime"
schema = json.loads((chart / "values.schema.json").read_text())

# A valid element for each array whose default is empty, by path.
ITEM = {
    "imagePullSecrets": {"name": "regcred"},
    "scylla.nodes": "scylla:9042",
    "tolerations": {"operator": "Exists"},
    "topologySpreadConstraints": {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"},
    "topologySpreadConstraints[].matchLabelKeys": "pod-template-hash",
    "matchExpressions": {"key": "a", "operator": "In", "values": ["b"]},
    "matchExpressions[].values": "b",
    "networkPolicy.extraIngress": {"namespaceSelector": {"matchLabels": {"a": "b"}}},
    "cidrs": "10.0.0.0/8",
    "fqdns": "llm.example.com",
    "nodeCidrs": "10.0.0.0/8",
    "collector.extraArgs": "--flag",
    "collector.env": {"name": "A", "value": "b"},
}
BAD_STRINGS = ["has space!", "UPPER/Case:", "", "x" * 300]


def item_example(path, node):
    for key in (path, path.split(".")[-1], ".".join(path.split(".")[-2:])):
        if key in ITEM:
            return copy.deepcopy(ITEM[key])
    t = node.get("type")
    if "enum" in node:
        return node["enum"][0]
    return {"string": "x", "integer": node.get("minimum", 1), "object": {}}.get(t, "x")


def defaults():
    import yaml  # PyYAML: in the venv scripts/test-chart makes
    return yaml.safe_load((chart / "values.yaml").read_text())


cases = []  # (name, set-map, error path)


def add(name, setmap, where):
    cases.append((name, setmap, where))


def walk(node, path, value, root_set, in_array=False):
    """node: schema; path: dotted path in values ('' = root); value: a valid
    value there; root_set(v) -> set-map putting v at path."""
    where = "/" + path.replace(".", "/") if path else ""
    t = node.get("type")
    if t and path:
        wrong = {"object": "not-an-object", "array": "not-an-array", "string": 12345,
                 "integer": "not-a-number", "boolean": "not-a-bool", "number": "x"}[t]
        add(f"{path or 'values'}: type {t}", root_set(wrong), where)
    if "enum" in node:
        add(f"{path}: enum", root_set("not-one-of-the-enum"), where)
    if "minimum" in node:
        add(f"{path}: minimum {node['minimum']}", root_set(node["minimum"] - 1), where)
    if "maximum" in node:
        add(f"{path}: maximum {node['maximum']}", root_set(node["maximum"] + 1), where)
    if "not" in node and "const" in node["not"]:
        add(f"{path}: not {node['not']['const']}", root_set(node["not"]["const"]), where)
    if "minLength" in node:
        add(f"{path}: minLength {node['minLength']}", root_set(""), where)
    if "maxLength" in node:
        add(f"{path}: maxLength {node['maxLength']}", root_set("a" * (node["maxLength"] + 1)), where)
    if "pattern" in node:
        rx = re.compile(node["pattern"])
        bad = next(s for s in BAD_STRINGS if not rx.search(s) and len(s) <= node.get("maxLength", 10**6)
                   and len(s) >= node.get("minLength", 0))
        add(f"{path}: pattern", root_set(bad), where)
    if "anyOf" in node:
        add(f"{path}: anyOf", root_set("lots"), where)
    if t == "object":
        props = node.get("properties", {})
        base = value if isinstance(value, dict) else {}
        if node.get("additionalProperties") is False:
            add(f"{path or 'values'}: additionalProperties false", root_set({**base, "bogusKey": 1}) if path else {"bogusKey": 1}, where)
        elif isinstance(node.get("additionalProperties"), dict):
            add(f"{path}: additionalProperties {node['additionalProperties'].get('type')}", root_set({**base, "casa.dev/k": 12345}), where + "/casa.dev~1k")
            ml = node["additionalProperties"].get("maxLength")
            if ml:
                add(f"{path}: values maxLength {ml}", root_set({**base, "casa.dev/k": "a" * (ml + 1)}), where + "/casa.dev~1k")
        if "propertyNames" in node:
            # The validator names no place for a property name: match the name.
            add(f"{path}: propertyNames", root_set({**base, "bad key!": "x"}), None)
        if "minProperties" in node:
            add(f"{path}: minProperties {node['minProperties']}", root_set({}), where)
        for req in node.get("required", []):
            # Helm deletes a key set to null from the defaults; inside a list
            # (replaced whole, never merged) the key is left out instead.
            v = copy.deepcopy(base)
            if in_array:
                v.pop(req, None)
            else:
                v[req] = None
            add(f"{path or 'values'}: required {req}", root_set(v) if path else {req: None}, where)
        for key, sub in props.items():
            if key == "global":
                continue
            subpath = f"{path}.{key}" if path else key
            empty = {"object": {}, "array": []}
            subval = base.get(key, empty[sub["type"]] if sub.get("type") in empty else item_example(subpath, sub))
            if path:
                walk(sub, subpath, subval, lambda v, key=key, base=base, root_set=root_set: root_set({**base, key: v}), in_array)
            else:
                walk(sub, subpath, subval, lambda v, key=key: {key: v})
    if t == "array":
        items = node.get("items", {})
        example = value[0] if value else item_example(path, items)
        if node.get("minItems"):
            add(f"{path}: minItems {node['minItems']}", root_set([]), where)
        if node.get("uniqueItems"):
            add(f"{path}: uniqueItems", root_set([example, copy.deepcopy(example)]), where)
        walk(items, path + "[]", example, lambda v: root_set([v]), True)


walk(schema, "", defaults(), None)

out = ["# Generated by scripts/chart/schema_cases.py from values.schema.json: do not edit.",
       "suite: values.schema.json refuses every rule's violation",
       "templates: [configmap.yaml]",
       'capabilities: {majorVersion: "1", minorVersion: "36"}',
       "tests:"]
for name, setmap, where in cases:
    if where is None:
        where_rx = re.escape("invalid propertyName 'bad key!'")
    else:
        where_rx = re.escape("at '" + re.sub(r"\[\]", "/0", where) + "'")
    out.append(f"  - it: {json.dumps('refuses ' + name)}")
    out.append(f"    set: {json.dumps(setmap)}")
    out.append("    asserts:")
    out.append(f"      - failedTemplate: {{errorPattern: {json.dumps(where_rx)}}}")
text = "\n".join(out) + "\n"
target = chart / "tests/schema_test.yaml"
if "--check" in sys.argv:
    if target.read_text() != text:
        sys.exit("tests/schema_test.yaml is stale: run scripts/chart/schema_cases.py")
else:
    target.write_text(text)
print(f"{len(cases)} schema cases")
