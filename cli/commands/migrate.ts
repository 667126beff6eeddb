/**
 * `ratemesh migrate from-cloudkitty`: a running CloudKitty moved over. It
 * reads CloudKitty's REST API (cli/migrate/cloudkitty-api.ts) and makes
 * ratemesh equal to it: the hashmap price list (through the same plan as
 * `hashmap import`, so a second run changes nothing), the modules' states
 * and priorities, and the scope states with ratemesh's meaning
 * (cli/migrate/ratemesh-state.ts); and it writes a ratemesh.conf derived
 * from the cloudkitty.conf (cli/migrate/config.ts) beside a copy of the
 * metrics.yml. `--dry-run` prints the same lines and changes nothing.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { parse } from "yaml";
import { action, type Context } from "../context.js";
import { subcommand } from "../declare.js";
import { CliError } from "../errors.js";
import type { PasswordAuth } from "../keystone.js";
import { CloudKittyApi, type CloudKittyAuth, type CloudKittyState } from "../migrate/cloudkitty-api.js";
import { deriveConfig } from "../migrate/config.js";
import { priceListFrom } from "../migrate/price-list.js";
import { type Change, moduleChanges, scopeChanges } from "../migrate/ratemesh-state.js";
import { parsePositiveArg } from "../options.js";
import { loadStored, planImport } from "../pricelist/plan.js";
import { BEGINNING_OF_TIME } from "../pricelist/start.js";

interface MigrateOptions {
  cloudkitty?: string;
  cloudkittyToken?: string;
  osInterface: string;
  cloudkittyConf?: string;
  metricsYml?: string;
  output?: string;
  storageUrl: string;
  ratingUrl: string;
  period?: number;
  dryRun?: boolean;
}

/** CloudKitty's API is read with the given token, else the global Keystone credentials (OS_*), else without auth. */
function authOf(o: MigrateOptions, keystone: PasswordAuth | undefined): CloudKittyAuth {
  if (o.cloudkittyToken !== undefined) return { kind: "token", token: o.cloudkittyToken };
  if (keystone === undefined) return { kind: "noauth" };
  return { kind: "password", ...keystone, interface: o.osInterface };
}

/** The rating types of a metrics.yml: each entry's alt_name, else the metric's name. */
function ratedTypes(text: string): string[] {
  const metrics = (parse(text) as { metrics?: Record<string, unknown> } | null)?.metrics ?? {};
  return Object.entries(metrics).flatMap(([name, v]) =>
    (Array.isArray(v) ? v : [v]).map((m) => String((m as { alt_name?: unknown } | null)?.alt_name ?? name)),
  );
}

/** The configuration files: ratemesh.conf from cloudkitty.conf, and the metrics.yml beside it. */
function configFiles(o: MigrateOptions, ck: CloudKittyState, out: string[]): { period: number | undefined; write: () => string[] } {
  if (o.cloudkittyConf === undefined) return { period: undefined, write: () => [] };
  if (o.output === undefined)
    throw new CliError("usage", "--cloudkitty-conf needs --output, the directory the ratemesh.conf is written to");
  const dir = resolve(o.output);
  const metricsConf = o.metricsYml === undefined ? undefined : join(dir, "metrics.yml");
  const derived = deriveConfig(o.cloudkittyConf, readFileSync(o.cloudkittyConf, "utf8"), {
    metricsConf,
    storageUrl: o.storageUrl,
    ratingUrl: o.ratingUrl,
  });
  for (const n of derived.notes) out.push(`  ${n}`);
  if (o.metricsYml !== undefined) {
    const services = new Set(ck.services.map((s) => s.name));
    for (const t of new Set(ratedTypes(readFileSync(o.metricsYml, "utf8")))) {
      if (!services.has(t))
        out.push(`warning: metrics.yml rates type ${t}, which no hashmap service prices: its points will be counted as unpriced`);
    }
  }
  const files: Array<[string, string]> = [[join(dir, "ratemesh.conf"), derived.text]];
  if (o.metricsYml !== undefined) files.push([join(dir, "metrics.yml"), readFileSync(o.metricsYml, "utf8")]);
  const changed = files.filter(([f, text]) => !existsSync(f) || readFileSync(f, "utf8") !== text);
  for (const [f] of changed) out.push(`${existsSync(f) ? "~" : "+"} file ${f}`);
  return {
    period: derived.period,
    write: () => {
      mkdirSync(dir, { recursive: true });
      for (const [f, text] of changed) {
        writeFileSync(f, text, { mode: 0o600 });
        chmodSync(f, 0o600);
      }
      return changed.map(([f]) => f);
    },
  };
}

async function fromCloudKitty(ctx: Context, o: MigrateOptions): Promise<void> {
  const api = new CloudKittyApi(o.cloudkitty, authOf(o, ctx.settings.keystone));
  await api.connect();
  const ck = await api.readAll();
  await ctx.write(
    `CloudKitty ${api.url}: ${ck.services.length} hashmap services, ${ck.fields.length} fields, ${ck.groups.length} groups, ${ck.mappings.length} mappings, ${ck.thresholds.length} thresholds; ${ck.scopes.length} scopes\n`,
  );
  const notes: string[] = [];
  const files = configFiles(o, ck, notes);
  const period = o.period ?? files.period ?? 3600;

  // Every migrated mapping has its start (CloudKitty's, or the beginning of time), so no default applies.
  const stored = await loadStored(ctx);
  const steps = planImport(stored, priceListFrom(ck), ctx.now(), { start: BEGINNING_OF_TIME, force: true, label: "", why: "" });
  const changes: Change[] = [
    ...steps.map((s) => ({ sign: s.sign, text: s.text, run: (c: Context) => s.run(c, stored.ids, true) })),
    ...(await moduleChanges(ctx, ck.modules, ck.pyscripts)),
    ...(await scopeChanges(ctx, ck.scopes, period)),
  ];
  const todo = changes.filter((c) => c.run !== undefined);
  const operator = changes.filter((c) => c.sign === "!");
  for (const c of operator) await ctx.write(`! ${c.text}\n`);
  if (o.dryRun) {
    for (const c of todo) await ctx.write(`${c.sign} ${c.text}\n`);
    await ctx.write(`${notes.map((n) => `${n}\n`).join("")}dry run: ${todo.length} changes to ratemesh, nothing was changed\n`);
  } else {
    for (const c of todo) {
      await c.run?.(ctx);
      await ctx.write(`${c.sign} ${c.text}\n`);
    }
    await ctx.write(notes.map((n) => `${n}\n`).join(""));
    const written = files.write();
    await ctx.write(
      todo.length === 0 && written.length === 0
        ? "no changes: ratemesh already equals CloudKitty\n"
        : `applied: ${todo.length} changes to ratemesh, ${written.length} files written\n`,
    );
  }
  if (operator.length > 0)
    throw new CliError("conflict", `${operator.length} things were not migrated (the ! lines): they need the operator`);
}

export function register(program: Command): void {
  const migrate = subcommand(
    program,
    "migrate",
    "Move another rating system's settings and state into ratemesh",
    "ratemesh migrate from-cloudkitty --cloudkitty http://cloudkitty:8889 --dry-run",
  );
  subcommand(
    migrate,
    "from-cloudkitty",
    "Make ratemesh equal to a running CloudKitty, read through its REST API: the hashmap price list (mappings with their dates; undated ones apply to every period), module states and priorities, scope states (CloudKitty's last_processed_timestamp is a period's begin, ratemesh's state its end); and write a ratemesh.conf from its cloudkitty.conf. Running it again changes nothing",
    "ratemesh migrate from-cloudkitty --cloudkitty http://cloudkitty:8889 --dry-run",
    "ratemesh migrate from-cloudkitty --cloudkitty-conf /etc/cloudkitty/cloudkitty.conf --metrics-yml /etc/cloudkitty/metrics.yml --output /etc/ratemesh",
  )
    .addOption(
      new Option(
        "--cloudkitty <url>",
        "CloudKitty's API, e.g. http://cloudkitty:8889 (default: the rating endpoint of the Keystone catalog)",
      ).env("CLOUDKITTY_URL"),
    )
    .addOption(new Option("--cloudkitty-token <token>", "a Keystone token for CloudKitty's API").env("CLOUDKITTY_TOKEN"))
    .addOption(
      new Option("--os-interface <interface>", "the catalog interface of the rating endpoint").env("OS_INTERFACE").default("public"),
    )
    .option("--cloudkitty-conf <file>", "CloudKitty's cloudkitty.conf: a ratemesh.conf is derived from it (with --output)")
    .option("--metrics-yml <file>", "CloudKitty's metrics.yml: copied beside the ratemesh.conf, its types checked against the price list")
    .option("--output <dir>", "where ratemesh.conf (and metrics.yml) are written")
    .option(
      "--storage-url <url>",
      "[storage] url of the written ratemesh.conf: postgresql://… or a SQLite file",
      "/var/lib/ratemesh/storage.sqlite",
    )
    .option(
      "--rating-url <url>",
      "[rating] url of the written ratemesh.conf: postgresql://… or a SQLite file",
      "/var/lib/ratemesh/rating.sqlite",
    )
    .option(
      "--period <seconds>",
      "CloudKitty's rating period (default: [collect] period of --cloudkitty-conf, else 3600)",
      parsePositiveArg,
    )
    .option("--dry-run", "print what it would change and change nothing")
    .action(action(fromCloudKitty));
}
