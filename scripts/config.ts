/**
 * ratemesh configuration tool:
 *   node dist/scripts/config.js sample                  print a commented sample config (every service's options)
 *   node dist/scripts/config.js check SERVICE [FILE]    validate a config for a service
 */
import { ConfigError, loadConfig } from "../libs/config/config.js";
import { sampleConfig } from "../libs/config/sample.js";
import { CONFIG_CATALOG } from "../libs/gen/config-catalog.js";
import { SERVICE_CONFIGS } from "./config-services.js";

const [command, ...args] = process.argv.slice(2);
const spec = SERVICE_CONFIGS.find((s) => s.service === args[0]);

if (command === "sample") {
  process.stdout.write(sampleConfig(SERVICE_CONFIGS));
} else if (command === "check" && spec !== undefined) {
  try {
    loadConfig(spec, { file: args[1], env: process.env, catalog: CONFIG_CATALOG });
    process.stdout.write(`${args[1] ?? "(defaults)"}: valid for ${spec.service}\n`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  }
} else {
  process.stderr.write(`usage: config.js sample | config.js check ${SERVICE_CONFIGS.map((s) => s.service).join("|")} [FILE]\n`);
  process.exitCode = 64;
}
