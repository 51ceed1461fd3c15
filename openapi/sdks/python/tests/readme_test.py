"""Runs the README's example block as written, against a live node."""

import os
import re
import subprocess
import sys
from pathlib import Path

from casa_node import CasaNode, Tally

readme = (Path(__file__).parents[1] / "README.md").read_text()
example = re.search(r"## Example.*?```python\n(.*?)```", readme, re.S).group(1)
t = Tally()
lines = [line for line in example.splitlines() if line.strip()]
t.check("the example is at most twelve lines", len(lines) <= 12, len(lines))
with CasaNode() as node:
    env = {**os.environ, "CASA_URL": node.url, "CASA_ADMIN_TOKEN": node.admin_token}
    out = subprocess.run([sys.executable, "-c", example], env=env, capture_output=True, text=True)
    t.check("the example runs", out.returncode == 0, out.stderr[-2000:])
    t.check("the example prints the token's scope", out.stdout.strip() == "issued fs:read", out.stdout)
sys.exit(t.summary())
