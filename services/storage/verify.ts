/**
 * An operator's check of a storage database: recomputes every rollup from
 * the stored points and prints each difference. Exit status 0 when the
 * rollups are exactly the points, 1 when they differ, 2 on a bad
 * configuration. It reads the whole database: run it off-peak.
 *
 *   node dist/services/storage/verify.js --config ratemesh.conf
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../../libs/config/config.js";
import { loadStorageConfig, type StorageConfig } from "./config.js";
import { openEngine } from "./engines.js";

const { values } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: true });
const file = values.config ?? process.env.RATEMESH_CONFIG;
let config: StorageConfig;
try {
  config = loadStorageConfig({ file, env: process.env });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`ratemesh-storage verify: ${err.message}\n`);
  process.exit(2);
}
const { backend, url } = config.storage;
const periodSeconds = config.collect.period;
const engine = await openEngine({ backend, url, periodSeconds, poolSize: 2 });
try {
  const t0 = performance.now();
  const problems = await engine.verifyRollups();
  for (const p of problems) process.stdout.write(`${p}\n`);
  const took = ((performance.now() - t0) / 1000).toFixed(1);
  process.stdout.write(
    problems.length === 0
      ? `${backend}: every rollup equals the points it sums (${took} s)\n`
      : `${backend}: ${problems.length} rollup rows differ from the points (${took} s)\n`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
} finally {
  await engine.close();
}
