/**
 * The `ratemesh` command tree: global connection options, then one module
 * per command group under commands/. Built by a function so that the
 * reference in cli/README.md is generated from the very same tree.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { register as adjustments } from "./commands/adjustments.js";
import { register as audit } from "./commands/audit.js";
import { register as dataframes } from "./commands/dataframes.js";
import { register as hashmap } from "./commands/hashmap.js";
import { register as hashmapFile } from "./commands/hashmap-file.js";
import { register as hashmapMappings } from "./commands/hashmap-mappings.js";
import { register as hashmapThresholds } from "./commands/hashmap-thresholds.js";
import { register as migrate } from "./commands/migrate.js";
import { register as modules } from "./commands/modules.js";
import { register as pricelist } from "./commands/pricelist.js";
import { register as quote } from "./commands/quote.js";
import { register as reprocess } from "./commands/reprocess.js";
import { register as rules } from "./commands/rules.js";
import { register as scopes } from "./commands/scopes.js";
import { register as simulate } from "./commands/simulate.js";
import { register as status } from "./commands/status.js";
import { register as summary } from "./commands/summary.js";
import { EXIT_CODES_HELP } from "./errors.js";
import { examples, parsePositiveArg } from "./options.js";
import { DEFAULT_ADDRESS } from "./settings.js";

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

const SETTINGS_HELP = `
Connection settings, first found wins: the option, its environment variable,
the --config file ([storage], [rating] and [collector] sections: endpoint,
else listen; the mesh's own ratemesh.conf works), then the services' defaults
(storage ${DEFAULT_ADDRESS.storage}, rating ${DEFAULT_ADDRESS.rating}, collector ${DEFAULT_ADDRESS.collector}).
Authentication as the openstack CLI: --os-token (OS_TOKEN), else a Keystone
token for --os-username/--os-password on --os-project-name at --os-auth-url
(OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_AUTH_URL, the domains from
OS_USER_DOMAIN_NAME and OS_PROJECT_DOMAIN_NAME): an openrc file works as is.
Dates are UTC: 2026-11-01, 2026-11-01T06:00:00Z, now, today, yesterday,
-3d, +12h, "3 days ago", november, "nov 2026", 2026-11, "last month".
Prices and quantities are exact decimals; tables round them for display
(--precision), csv and json keep every digit.
`;

export interface ProgramOptions {
  /** Where commander writes usage errors (default: stderr). */
  writeErr?: (s: string) => void;
}

export function buildProgram(opts: ProgramOptions = {}): Command {
  const program = new Command("ratemesh");
  program
    .description("Operator's command line client of the ratemesh services (storage, rating, collector)")
    .version(version(), "-V, --version")
    .exitOverride()
    .configureOutput({
      ...(opts.writeErr !== undefined && { writeErr: opts.writeErr }),
      outputError: (s, write) =>
        write(
          `ratemesh: ${s
            .replace(/^error: /, "")
            .trim()
            .replace(/\s*\n\s*/g, " ")}\n`,
        ),
    })
    .showSuggestionAfterError(true)
    .addOption(new Option("--storage <host:port>", "storage service address").env("RATEMESH_STORAGE_ENDPOINT"))
    .addOption(new Option("--rating <host:port>", "rating service address").env("RATEMESH_RATING_ENDPOINT"))
    .addOption(new Option("--collector <host:port>", "collector service address").env("RATEMESH_COLLECTOR_ENDPOINT"))
    .addOption(new Option("--config <file>", "INI file with the services' addresses (e.g. ratemesh.conf)").env("RATEMESH_CONFIG"))
    .addOption(new Option("--os-token <token>", "token sent as x-auth-token metadata on every call").env("OS_TOKEN"))
    .addOption(new Option("--os-auth-url <url>", "Keystone's identity URL, to get a token with a password").env("OS_AUTH_URL"))
    .addOption(new Option("--os-username <name>", "Keystone user (a token is asked for when no --os-token is given)").env("OS_USERNAME"))
    .addOption(new Option("--os-password <password>", "the Keystone user's password").env("OS_PASSWORD"))
    .addOption(new Option("--os-project-name <name>", "the project the token is scoped to").env("OS_PROJECT_NAME"))
    .addOption(new Option("--os-user-domain-name <name>", "the user's domain (default: Default)").env("OS_USER_DOMAIN_NAME"))
    .addOption(new Option("--os-project-domain-name <name>", "the project's domain (default: Default)").env("OS_PROJECT_DOMAIN_NAME"))
    .addOption(new Option("--os-cacert <file>", "CA bundle: use TLS and verify the services with it").env("OS_CACERT"))
    .addOption(new Option("--os-cert <file>", "client certificate for mutual TLS (with --os-key)").env("OS_CERT"))
    .addOption(new Option("--os-key <file>", "client certificate key for mutual TLS").env("OS_KEY"))
    .addOption(new Option("--timeout <seconds>", "deadline of each call").argParser(parsePositiveArg).default(30))
    .addHelpText(
      "after",
      `${examples(
        "ratemesh summary --storage 127.0.0.1:9631 --begin 2026-11-01 --end 2026-11-04 -g scope_id,type",
        "ratemesh --config /etc/ratemesh/ratemesh.conf status --watch",
        "ratemesh help hashmap import",
      )}${SETTINGS_HELP}\n${EXIT_CODES_HELP}\n`,
    );

  summary(program);
  simulate(program);
  dataframes(program);
  scopes(program);
  reprocess(program);
  adjustments(program);
  const hm = hashmap(program);
  hashmapMappings(hm);
  hashmapThresholds(hm);
  hashmapFile(hm);
  rules(program);
  modules(program);
  quote(program);
  pricelist(program);
  status(program);
  audit(program);
  migrate(program);
  return program;
}
