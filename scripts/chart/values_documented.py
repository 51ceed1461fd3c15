#!/usr/bin/env python3
"""Fails when a value of values.yaml is not documented in the chart README
(each leaf's dotted path, in backquotes, in the values table)."""
import pathlib, sys
import yaml

chart = pathlib.Path(sys.argv[1])
values = yaml.safe_load((chart / "values.yaml").read_text())
readme = (chart / "README.md").read_text()


def leaves(node, prefix=""):
    if isinstance(node, dict) and node and not prefix.endswith(("Labels", "labels", "annotations", "Annotations", "matchLabels")):
        for k, v in node.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    else:
        yield prefix


missing = [p for p in leaves(values) if f"`{p}`" not in readme]
for p in missing:
    print(f"README.md does not document `{p}`")
print(f"values_documented: {sum(1 for _ in leaves(values))} values, {len(missing)} undocumented")
sys.exit(1 if missing else 0)
