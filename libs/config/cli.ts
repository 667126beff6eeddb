/**
 * ratemesh configuration tool:
 *   node dist/libs/config/cli.js sample                      print a commented sample config
 *   node dist/libs/config/cli.js check SERVICE [FILE]        validate a config for a service
 */
import { ConfigError, loadConfig, type ServiceName, sampleConfig } from "./config.js";

const [command, ...args] = process.argv.slice(2);
const services: ServiceName[] = ["storage", "rating", "collector"];

if (command === "sample") {
  process.stdout.write(sampleConfig());
} else if (command === "check" && services.includes(args[0] as ServiceName)) {
  try {
    loadConfig({ file: args[1], env: process.env, service: args[0] as ServiceName });
    process.stdout.write(`${args[1] ?? "(defaults)"}: valid for ${args[0]}\n`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  }
} else {
  process.stderr.write("usage: cli.js sample | cli.js check storage|rating|collector [FILE]\n");
  process.exitCode = 64;
}
