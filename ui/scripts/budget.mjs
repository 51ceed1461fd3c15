// Fails when the built UI is over its size budget (gzipped): the JS and CSS
// index.html loads before anything renders, and everything in the build.
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const INITIAL_KB = 200;
const ALL_KB = 900;
const dist = new URL("../dist/", import.meta.url).pathname;
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;

const html = readFileSync(join(dist, "index.html"), "utf8");
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const all = readdirSync(join(dist, "assets"))
  .filter((f) => /\.(js|css)$/.test(f))
  .map((f) => `assets/${f}`);
const kb = (files) => files.reduce((n, f) => n + gz(f), 0) / 1024;
const initialKb = kb(initial);
const allKb = kb(all);
console.log(`ui budget: initial ${initialKb.toFixed(1)} KB gzipped (${initial.length} files, limit ${INITIAL_KB}); all ${allKb.toFixed(1)} KB (${all.length} files, limit ${ALL_KB})`);
if (initial.length === 0) {
  console.error("ui budget: index.html loads no JS or CSS: is the build broken?");
  process.exit(1);
}
if (initialKb > INITIAL_KB || allKb > ALL_KB) {
  console.error("ui budget: over budget");
  process.exit(1);
}
