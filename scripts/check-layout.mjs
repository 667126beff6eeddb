// The layout rule of ARCHITECTURE.md, enforced: a service never imports
// another service's code (they talk over gRPC), libs/ never imports a
// service, and the CLI (a client, like a service) imports only libs/.
// Exits non-zero listing every offending import.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const IMPORT = /(?:^|\s)(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "dist" || name === "gen") continue;
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

function roomOf(file) {
  const rel = relative(root, file).split("/");
  if (rel[0] === "services") return `services/${rel[1]}`;
  return rel[0];
}

const problems = [];
for (const top of ["libs", "services", "cli"]) {
  for (const file of files(join(root, top))) {
    const room = roomOf(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec?.startsWith(".")) continue;
      const target = roomOf(resolve(dirname(file), spec));
      const bad =
        (room.startsWith("services/") && target.startsWith("services/") && target !== room) ||
        (room === "libs" && target.startsWith("services/")) ||
        (room === "cli" && target !== "cli" && target !== "libs");
      if (bad) problems.push(`${relative(root, file)}: imports ${spec} (${target}); ${room} may only import libs/ and its own files`);
    }
  }
}
if (problems.length > 0) {
  process.stderr.write(`layout violations:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
  process.exit(1);
}
