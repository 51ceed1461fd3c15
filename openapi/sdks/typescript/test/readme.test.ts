// Runs the README's example block as written (the package import mapped to ./src), against a live node.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CasaNode, Tally } from "./casa-node.js";

const t = new Tally();
const readme = readFileSync(join(import.meta.dirname, "../README.md"), "utf8");
const example = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1];
t.check("the example is at most twelve lines", example.split("\n").filter((l) => l.trim()).length <= 12);
const file = join(import.meta.dirname, ".readme-example.ts");
writeFileSync(file, example.replace('"@casa-runtime/sdk"', '"../src/index.js"'));
const node = await CasaNode.start();
try {
  const out = execFileSync(join(import.meta.dirname, "../node_modules/.bin/tsx"), [file], {
    env: { ...process.env, CASA_URL: node.url, CASA_ADMIN_TOKEN: node.adminToken },
    encoding: "utf8",
  });
  t.check("the example prints the token's scope", out.trim() === "issued fs:read", out);
} catch (e) {
  t.check("the example runs", false, String(e));
} finally {
  rmSync(file, { force: true });
  await node.stop();
}
process.exit(t.summary());
