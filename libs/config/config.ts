/**
 * Loading and validating the configuration: the INI file, then environment
 * overrides (RATEMESH_<SECTION>__<OPTION>=value), then the checks across
 * options. Every problem is collected and reported at once, each with the
 * file (and line), section and option it is about.
 */
import { readFileSync } from "node:fs";
import { parseIni } from "./ini.js";
import type { Option } from "./options.js";
import type { Catalog, ConfigOf, Sections, ServiceConfig } from "./schema.js";

export type { Catalog, Check, CheckContext, ConfigOf, Reporter, Sections, ServiceConfig } from "./schema.js";
export { defineServiceConfig } from "./schema.js";

export const ENV_PREFIX = "RATEMESH_";

/**
 * A configuration a service cannot start with: the INI file, or a file it
 * names (metrics.yml, a usage file). A service reports it on stderr, every
 * problem on its own line, and exits with status 2.
 */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    what = "configuration",
  ) {
    super(
      `invalid ${what} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** A file the configuration names (a usage file, a metrics definition) that cannot be used as it is. */
export class ConfigFileError extends ConfigError {
  constructor(
    readonly file: string,
    problems: string[],
    what: string,
  ) {
    super(problems, `${what} ${file}`);
    this.name = "ConfigFileError";
  }

  /** The error for a file that cannot be read at all. */
  static unreadable(file: string, err: unknown, what: string): ConfigFileError {
    return new ConfigFileError(file, [`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`], what);
  }
}

export interface LoadOptions {
  /** INI file; undefined: defaults and environment only. */
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /**
   * Every option of the mesh (the generated libs/gen/config-catalog.ts).
   * The file is shared: a value of an option another service reads is
   * checked too (a bad value stops every service, as the file is wrong),
   * and an option no service declares is unknown.
   */
  catalog: Catalog;
}

interface Origin {
  where: string;
}

export function envName(section: string, option: string): string {
  return `${ENV_PREFIX}${section.toUpperCase()}__${option.toUpperCase()}`;
}

/** The catalog's options and the service's own together (its own declarations win): what a file may set. */
function known(sections: Sections, catalog: Catalog): Map<string, Map<string, Option<unknown>>> {
  const out = new Map<string, Map<string, Option<unknown>>>();
  for (const part of [catalog, sections]) {
    for (const [name, section] of Object.entries(part)) {
      const options = out.get(name) ?? new Map<string, Option<unknown>>();
      for (const [o, decl] of Object.entries(section)) options.set(o, decl);
      out.set(name, options);
    }
  }
  return out;
}

export function loadConfig<S extends Sections>(spec: ServiceConfig<S>, opts: LoadOptions): ConfigOf<S> {
  const schema: Sections = spec.sections;
  const everywhere = known(schema, opts.catalog);
  const problems: string[] = [];
  const raw = new Map<string, { value: string; origin: Origin }>();
  const file = opts.file;

  if (file !== undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      problems.push(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (text !== undefined) {
      const { entries, problems: syntax } = parseIni(text);
      for (const p of syntax) problems.push(`${file}:${p.line}: ${p.message}`);
      const seen = new Map<string, number>();
      for (const e of entries) {
        const where = `${file}:${e.line}: [${e.section}] ${e.key}`;
        if (e.section === "DEFAULT") {
          problems.push(`${where}: unknown option (ratemesh has no [DEFAULT] options)`);
          continue;
        }
        const options = everywhere.get(e.section);
        if (options === undefined) {
          problems.push(`${file}:${e.line}: [${e.section}]: unknown section (known: ${[...everywhere.keys()].join(", ")})`);
          continue;
        }
        if (!options.has(e.key)) {
          problems.push(`${where}: unknown option (known in [${e.section}]: ${[...options.keys()].join(", ")})`);
          continue;
        }
        const id = `${e.section}.${e.key}`;
        const first = seen.get(id);
        if (first !== undefined) {
          problems.push(`${where}: set twice (first at line ${first})`);
          continue;
        }
        seen.set(id, e.line);
        raw.set(id, { value: e.value, origin: { where } });
      }
    }
  }

  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || !name.includes("__") || value === undefined) continue;
    const [sectionPart = "", optionPart = ""] = name.slice(ENV_PREFIX.length).split("__", 2);
    const sectionName = sectionPart.toLowerCase();
    const optionName = optionPart.toLowerCase();
    const where = `environment ${name}: [${sectionName}] ${optionName}`;
    const options = everywhere.get(sectionName);
    if (options === undefined) {
      problems.push(`environment ${name}: unknown section [${sectionName}]`);
      continue;
    }
    if (!options.has(optionName)) {
      problems.push(`${where}: unknown option`);
      continue;
    }
    raw.set(`${sectionName}.${optionName}`, { value, origin: { where } });
  }

  const config: Record<string, Record<string, unknown>> = {};
  const origins = new Map<string, Origin>();
  for (const [sectionName, section] of everywhere) {
    const own = schema[sectionName];
    const values: Record<string, unknown> = {};
    for (const [optionName, option] of section) {
      const mine = own?.[optionName] !== undefined;
      const id = `${sectionName}.${optionName}`;
      const given = raw.get(id);
      if (mine) values[optionName] = option.default;
      if (given === undefined) continue;
      origins.set(id, given.origin);
      try {
        const value = option.parse(given.value);
        if (mine) values[optionName] = value;
      } catch (err) {
        problems.push(`${given.origin.where}: ${(err as Error).message} (expected ${option.type})`);
      }
    }
    if (own !== undefined) config[sectionName] = values;
  }

  const cfg = config as ConfigOf<S>;
  const report = (section: string, option: string, message: string) => {
    const origin = origins.get(`${section}.${option}`);
    const where = origin?.where ?? `${file ?? "(no config file)"}: [${section}] ${option}`;
    problems.push(`${where}: ${message}`);
  };
  for (const check of spec.checks) check({ config: cfg, report });

  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s/]*@/gi;
const URL_SECRET_PARAM = /([?&](?:password|passwd|pass|token|secret|key|api_key|apikey|access_token|auth)=)[^&\s#]*/gi;

/** A value with the credentials a URL in it may carry (user:password@, ?token=...) replaced. */
export function redactUrls(value: string): string {
  if (!value.includes("://") && !value.includes("=")) return value;
  return value.replace(URL_PASSWORD, "$1:***@").replace(URL_SECRET_PARAM, "$1***");
}

/** The config with secrets replaced, fit for a log line (credentials inside URLs too). */
export function redactedConfig<S extends Sections>(spec: ServiceConfig<S>, config: ConfigOf<S>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [sectionName, section] of Object.entries(spec.sections as Sections)) {
    const values = (config as unknown as Record<string, Record<string, unknown>>)[sectionName] ?? {};
    out[sectionName] = {};
    for (const [name, option] of Object.entries(section)) {
      const v = values[name];
      const shown = typeof v === "string" ? redactUrls(v) : v;
      (out[sectionName] as Record<string, unknown>)[name] = option.secret && v !== undefined && v !== "" ? "***" : shown;
    }
  }
  return out;
}
