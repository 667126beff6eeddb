/**
 * Loading and validating the configuration: the INI file, then environment
 * overrides (RATEMESH_<SECTION>__<OPTION>=value), then the checks across
 * options. Every problem is collected and reported at once, each with the
 * file (and line), section and option it is about.
 */
import { readFileSync } from "node:fs";
import { parseIni } from "./ini.js";
import type { Option } from "./options.js";
import { type Config, checks, type SectionName, type ServiceName, schema } from "./schema.js";

export type { Config, ServiceName } from "./schema.js";

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

export interface LoadOptions {
  /** INI file; undefined: defaults and environment only. */
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  service: ServiceName;
}

interface Origin {
  where: string;
}

function envName(section: string, option: string): string {
  return `${ENV_PREFIX}${section.toUpperCase()}__${option.toUpperCase()}`;
}

export function loadConfig(opts: LoadOptions): Config {
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
        const section = (schema as Record<string, Record<string, Option<unknown>>>)[e.section];
        if (section === undefined) {
          problems.push(`${file}:${e.line}: [${e.section}]: unknown section (known: ${Object.keys(schema).join(", ")})`);
          continue;
        }
        if (!Object.hasOwn(section, e.key)) {
          problems.push(`${where}: unknown option (known in [${e.section}]: ${Object.keys(section).join(", ")})`);
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
    const section = (schema as Record<string, Record<string, Option<unknown>>>)[sectionName];
    if (section === undefined) {
      problems.push(`environment ${name}: unknown section [${sectionName}]`);
      continue;
    }
    if (!Object.hasOwn(section, optionName)) {
      problems.push(`${where}: unknown option`);
      continue;
    }
    raw.set(`${sectionName}.${optionName}`, { value, origin: { where } });
  }

  const config: Record<string, Record<string, unknown>> = {};
  const origins = new Map<string, Origin>();
  for (const [sectionName, section] of Object.entries(schema) as Array<[string, Record<string, Option<unknown>>]>) {
    const values: Record<string, unknown> = {};
    for (const [optionName, option] of Object.entries(section)) {
      const id = `${sectionName}.${optionName}`;
      const given = raw.get(id);
      values[optionName] = option.default;
      if (given === undefined) continue;
      origins.set(id, given.origin);
      try {
        values[optionName] = option.parse(given.value);
      } catch (err) {
        problems.push(`${given.origin.where}: ${(err as Error).message} (expected ${option.type})`);
      }
    }
    config[sectionName] = values;
  }

  const cfg = config as Config;
  const report = (section: SectionName, option: string, message: string) => {
    const origin = origins.get(`${section}.${option}`);
    const where = origin?.where ?? `${file ?? "(no config file)"}: [${section}] ${option}`;
    problems.push(`${where}: ${message}`);
  };
  for (const check of checks) check({ config: cfg, service: opts.service, report });

  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

/** A config with every default and the given overrides, for tests and tools. */
export function configFromDefaults(service: ServiceName, env: Record<string, string> = {}): Config {
  return loadConfig({ service, env });
}

/** The config with secrets replaced, fit for a log line. */
export function redactedConfig(config: Config): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [sectionName, section] of Object.entries(schema) as Array<[string, Record<string, Option<unknown>>]>) {
    const values = (config as unknown as Record<string, Record<string, unknown>>)[sectionName] ?? {};
    out[sectionName] = {};
    for (const [name, option] of Object.entries(section)) {
      const v = values[name];
      (out[sectionName] as Record<string, unknown>)[name] = option.secret && v !== undefined && v !== "" ? "***" : v;
    }
  }
  return out;
}

/** A commented sample file with every option, its type, default and help. */
export function sampleConfig(): string {
  const lines: string[] = [
    "# ratemesh configuration. Every option is shown commented out with its default.",
    `# Any option can also be set in the environment: ${envName("section", "option")}=value`,
    "# (for example RATEMESH_STORAGE__URL), which wins over this file.",
    "",
  ];
  for (const [sectionName, section] of Object.entries(schema) as Array<[string, Record<string, Option<unknown>>]>) {
    lines.push(`[${sectionName}]`, "");
    for (const [name, option] of Object.entries(section)) {
      for (const l of wrap(option.help, 76)) lines.push(`# ${l}`);
      const def = option.default === undefined || option.secret ? "(none)" : (option as Option<unknown, true>).show(option.default) || '""';
      lines.push(`# type: ${option.type}; default: ${def}${option.secret ? "; secret" : ""}`);
      lines.push(
        `#${name} = ${option.default === undefined || option.secret ? "" : (option as Option<unknown, true>).show(option.default)}`,
      );
      lines.push("");
    }
  }
  return lines.join("\n");
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") out.push(line);
  return out;
}
