/**
 * Loading and validating the configuration: the INI file, then environment
 * overrides (RATEMESH_<SECTION>__<OPTION>=value), then the checks across
 * options. Every problem is collected and reported at once, each with the
 * file (and line), section and option it is about.
 */
import { readFileSync } from "node:fs";
import { type IniEntry, parseIni } from "./ini.js";
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

/** What loading gives: the values, and the warnings about what the file sets that is accepted but not used. */
export interface LoadResult<S extends Sections> {
  config: ConfigOf<S>;
  warnings: string[];
}

export function envName(section: string, option: string): string {
  return `${ENV_PREFIX}${section.toUpperCase()}__${option.toUpperCase()}`;
}

type Declared = Map<string, Map<string, Option<unknown>>>;

/** The catalog's options and the service's own together (its own declarations win): what a file may set. */
function known(sections: Sections, catalog: Catalog): Declared {
  const out: Declared = new Map();
  for (const part of [catalog, sections]) {
    for (const [name, section] of Object.entries(part)) {
      const options = out.get(name) ?? new Map<string, Option<unknown>>();
      for (const [o, decl] of Object.entries(section)) options.set(o, decl);
      out.set(name, options);
    }
  }
  return out;
}

/** A declared section: by its name, else by a declared pattern ("prefix*"). */
function sectionOf(declared: Declared, name: string): Map<string, Option<unknown>> | undefined {
  const exact = declared.get(name);
  if (exact !== undefined) return exact;
  for (const [pattern, options] of declared) if (pattern.endsWith("*") && name.startsWith(pattern.slice(0, -1))) return options;
  return undefined;
}

/** A declared option: by its name, else the section's "*" (any option). */
function optionOf(options: Map<string, Option<unknown>>, key: string): Option<unknown> | undefined {
  return options.get(key) ?? options.get("*");
}

/** A section that another names through a section reference: the options it lends. */
interface Lender {
  from: string;
  option: string;
  takes: readonly string[];
}

/** The sections named by section references set in the file ([a] ref = b), with who names them. */
function lenders(entries: IniEntry[], declared: Declared): Map<string, Lender[]> {
  const out = new Map<string, Lender[]>();
  for (const e of entries) {
    const decl = sectionOf(declared, e.section)?.get(e.key);
    if (decl?.takes === undefined || e.value === "") continue;
    const list = out.get(e.value) ?? [];
    list.push({ from: e.section, option: e.key, takes: decl.takes });
    out.set(e.value, list);
  }
  return out;
}

/** Warnings about accepted options that are not used: one per section and reason, listing the options. */
class Ignored {
  private readonly groups = new Map<string, { prefix: string; section: string; reason: string; items: string[] }>();

  add(prefix: string, section: string, reason: string, item: string): void {
    const k = `${prefix}\u0000${section}\u0000${reason}`;
    const g = this.groups.get(k) ?? { prefix, section, reason, items: [] };
    g.items.push(item);
    this.groups.set(k, g);
  }

  warnings(): string[] {
    return [...this.groups.values()].map((g) => `${g.prefix}: [${g.section}] ${g.items.join(", ")}: ignored: ${g.reason}`);
  }
}

function readEntries(file: string, problems: string[]): IniEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    problems.push(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return [];
  }
  const { entries, problems: syntax } = parseIni(text);
  for (const p of syntax) problems.push(`${file}:${p.line}: ${p.message}`);
  return entries;
}

export function loadConfig<S extends Sections>(spec: ServiceConfig<S>, opts: LoadOptions): ConfigOf<S> {
  return readConfig(spec, opts).config;
}

/**
 * Loads the configuration and returns it with its warnings: the options
 * that are accepted and not used (declared tolerated, or in a section
 * another names that ratemesh does not read), one warning per section and
 * reason. A service logs them once at start.
 */
export function readConfig<S extends Sections>(spec: ServiceConfig<S>, opts: LoadOptions): LoadResult<S> {
  const schema: Sections = spec.sections;
  const everywhere = known(schema, opts.catalog);
  const problems: string[] = [];
  const ignored = new Ignored();
  const raw = new Map<string, { value: string; origin: Origin }>();
  const file = opts.file;
  const entries = file === undefined ? [] : readEntries(file, problems);
  const lent = lenders(entries, everywhere);
  const seen = new Map<string, { line: number; section: string }>();

  /** Takes one value of [section] option (declared as decl), from `where`. */
  const take = (section: string, key: string, decl: Option<unknown>, value: string, where: string, prefix: string, item: string) => {
    const refusal = decl.refusals?.[value];
    if (refusal !== undefined) problems.push(`${where} = ${value}: ${refusal}`);
    else if (decl.disposition === "retired") problems.push(`${where}: ${decl.help}`);
    else if (decl.disposition === "tolerated") ignored.add(prefix, section, decl.help, item);
    else raw.set(`${section}.${key}`, { value, origin: { where } });
  };

  for (const e of entries) {
    const where = `${file}:${e.line}: [${e.section}] ${e.key}`;
    const options = sectionOf(everywhere, e.section);
    const lenderOf = lent.get(e.section);
    if (options === undefined && lenderOf === undefined) {
      if (e.section === "DEFAULT") problems.push(`${where}: unknown option (ratemesh has no [DEFAULT] options)`);
      else problems.push(`${file}:${e.line}: [${e.section}]: unknown section (known: ${[...everywhere.keys()].join(", ")})`);
      continue;
    }
    // The section lends options to the sections that name it, as theirs.
    const targets: Array<{ section: string; via: string }> = [];
    if (lenderOf !== undefined) {
      for (const l of lenderOf)
        if (l.takes.includes(e.key))
          targets.push({ section: l.from, via: ` (read as [${l.from}] ${e.key}: [${l.from}] ${l.option} names [${e.section}])` });
      if (targets.length === 0 && options === undefined) {
        const names = lenderOf.map((l) => `[${l.from}] ${l.option}`).join(", ");
        ignored.add(
          `${file}`,
          e.section,
          `not read: ${names} take${lenderOf.length === 1 ? "s" : ""} only ${[...new Set(lenderOf.flatMap((l) => l.takes))].join(", ")} from it`,
          `${e.key} (line ${e.line})`,
        );
        continue;
      }
    }
    if (options !== undefined) targets.push({ section: e.section, via: "" });
    for (const target of targets) {
      const decl = optionOf(sectionOf(everywhere, target.section) ?? new Map(), e.key);
      if (decl === undefined) {
        const names = [...(options ?? new Map()).keys()].join(", ");
        problems.push(`${where}: unknown option (known in [${e.section}]: ${names})`);
        continue;
      }
      const id = `${target.section}.${e.key}`;
      const first = decl.disposition === "tolerated" ? undefined : seen.get(id);
      if (first !== undefined) {
        problems.push(
          first.section === e.section
            ? `${where}: set twice (first at line ${first.line})`
            : `${where}: also set in [${first.section}] at line ${first.line}, and both are read as [${target.section}] ${e.key}: set it in one place`,
        );
        continue;
      }
      seen.set(id, { line: e.line, section: e.section });
      const item = target.section === e.section ? `${e.key} (line ${e.line})` : `${e.key} (line ${e.line}, in [${e.section}])`;
      take(target.section, e.key, decl, e.value, `${where}${target.via}`, `${file}`, item);
    }
  }
  for (const [name, lenderList] of lent) {
    if (!entries.some((e) => e.section === name)) {
      for (const l of lenderList) {
        const at = entries.find((e) => e.section === l.from && e.key === l.option);
        problems.push(`${file}:${at?.line ?? 0}: [${l.from}] ${l.option}: names [${name}], which is not in the file`);
      }
    }
  }

  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || !name.includes("__") || value === undefined) continue;
    const [sectionPart = "", optionPart = ""] = name.slice(ENV_PREFIX.length).split("__", 2);
    const sectionName = sectionPart.toLowerCase() === "default" ? "DEFAULT" : sectionPart.toLowerCase();
    const optionName = optionPart.toLowerCase();
    const where = `environment ${name}: [${sectionName}] ${optionName}`;
    const options = sectionOf(everywhere, sectionName);
    if (options === undefined) {
      problems.push(`environment ${name}: unknown section [${sectionName}]`);
      continue;
    }
    const decl = optionOf(options, optionName);
    if (decl === undefined) {
      problems.push(`${where}: unknown option`);
      continue;
    }
    if (decl.takes !== undefined) {
      problems.push(`${where}: a section reference is read from the file only (the section it names is there)`);
      continue;
    }
    take(sectionName, optionName, decl, value, where, "environment", optionName);
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
  return { config: cfg, warnings: ignored.warnings() };
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
    const shown: Record<string, unknown> = {};
    for (const [name, option] of Object.entries(section)) {
      if (option.disposition !== undefined) continue;
      const v = values[name];
      const redacted = typeof v === "string" ? redactUrls(v) : v;
      shown[name] = option.secret && v !== undefined && v !== "" ? "***" : redacted;
    }
    if (Object.keys(shown).length > 0) out[sectionName] = shown;
  }
  return out;
}
