/**
 * A ratemesh.conf from a cloudkitty.conf. The mesh reads CloudKitty's
 * names, so most of the file is kept as it is; the rest is decided by the
 * mesh's own declarations (libs/gen/config-catalog.ts), never by a list of
 * CloudKitty's options here:
 *
 * - options the mesh reads are kept (with the sections their
 *   `auth_section` names, for the options those lend);
 * - options declared as accepted and unused (`[DEFAULT] transport_url`,
 *   `[database]`, `[oslo_*]`, …) are left out and listed;
 * - values the mesh refuses are left out with the refusal's message, and
 *   where ratemesh has its own answer it is written instead: `[storage]
 *   backend` and `url` (ratemesh's storage), `[rating] backend` and `url`,
 *   `[api] auth_strategy` (CloudKitty's `[DEFAULT] auth_strategy`, whose
 *   default is keystone) and `listen` (from `[api] port`, on the loopback
 *   interface: the network needs the gateway's TLS), `[collect]
 *   metrics_conf` (the metrics.yml written beside it);
 * - a coordination URL that is not etcd (tooz's default `file://`) is left
 *   out: one collector process coordinates in memory.
 */
import { parseIni } from "../../libs/config/ini.js";
import type { Option } from "../../libs/config/options.js";
import { parseCoordinationUrl } from "../../libs/coordination/url.js";
import { CONFIG_CATALOG } from "../../libs/gen/config-catalog.js";
import { CliError } from "../errors.js";

export interface DeriveOptions {
  /** Where the metrics.yml the mesh reads is (replaces [collect] metrics_conf). */
  metricsConf?: string | undefined;
  /** ratemesh's storage and rating databases: a postgresql:// URL or a SQLite file. */
  storageUrl: string;
  ratingUrl: string;
}

export interface DerivedConfig {
  text: string;
  /** What was left out or written instead, one line each. */
  notes: string[];
  /** [collect] period in seconds (CloudKitty's default: 3600). */
  period: number;
}

type Entry = { key: string; value: string };

function sectionOf(name: string): Record<string, Option<unknown>> | undefined {
  const exact = CONFIG_CATALOG[name];
  if (exact !== undefined) return exact;
  for (const [pattern, options] of Object.entries(CONFIG_CATALOG)) {
    if (pattern.endsWith("*") && name.startsWith(pattern.slice(0, -1))) return options;
  }
  return undefined;
}

const backendOf = (url: string) => (/^postgres(ql)?:\/\//.test(url) ? "postgresql" : "sqlite");

function renderValue(value: string): string {
  return value.includes("\n") ? value.split("\n").join("\n    ") : value;
}

export function deriveConfig(file: string, text: string, o: DeriveOptions): DerivedConfig {
  const { entries, problems } = parseIni(text);
  if (problems.length > 0) throw new CliError("invalid_argument", `${file}:${problems[0]?.line}: ${problems[0]?.message}`);
  const notes: string[] = [];
  const dropped = new Map<string, { section: string; keys: string[]; why: string }>();
  const drop = (section: string, key: string, why: string) => {
    const id = `${section}\u0000${why}`;
    const d = dropped.get(id) ?? { section, keys: [], why };
    d.keys.push(key);
    dropped.set(id, d);
  };
  // Sections named by a section reference lend those options.
  const lends = new Map<string, Set<string>>();
  for (const e of entries) {
    const takes = sectionOf(e.section)?.[e.key]?.takes;
    if (takes !== undefined && e.value !== "") lends.set(e.value, new Set([...(lends.get(e.value) ?? []), ...takes]));
  }
  const kept = new Map<string, Entry[]>();
  const keep = (section: string, key: string, value: string) => {
    const list = kept.get(section) ?? [];
    list.push({ key, value });
    kept.set(section, list);
  };
  let authStrategy: string | undefined;
  let apiPort: string | undefined;
  let period = 3600;
  for (const e of entries) {
    const declared = sectionOf(e.section);
    const lent = lends.get(e.section);
    if (declared === undefined) {
      if (lent?.has(e.key)) keep(e.section, e.key, e.value);
      else drop(e.section, e.key, lent === undefined ? "unknown to ratemesh" : "not among the options its auth_section readers take");
      continue;
    }
    const decl = declared[e.key] ?? declared["*"];
    const id = `${e.section}.${e.key}`;
    if (id === "DEFAULT.auth_strategy") authStrategy = e.value;
    else if (id === "api.port") apiPort = e.value;
    else if (id === "storage.backend" || id === "storage.url") drop(e.section, e.key, "ratemesh's storage is written below");
    else if (id === "collect.metrics_conf" && o.metricsConf !== undefined) drop(e.section, e.key, `the metrics.yml is ${o.metricsConf}`);
    else if (decl === undefined) drop(e.section, e.key, "unknown to ratemesh");
    else if (decl.refusals?.[e.value] !== undefined) drop(e.section, `${e.key} = ${e.value}`, decl.refusals[e.value] as string);
    else if (decl.disposition === "tolerated") drop(e.section, e.key, `no meaning in ratemesh (${decl.help})`);
    else if (decl.disposition === "retired") drop(e.section, e.key, decl.help);
    else if (id === "orchestrator.coordination_url" && !etcd(e.value)) {
      drop(
        e.section,
        `${e.key} = ${e.value}`,
        "not etcd: a single collector process coordinates in memory (etcd3://host:2379 for several)",
      );
    } else {
      if (id === "collect.period") period = Number(e.value);
      keep(e.section, e.key, e.value);
    }
  }
  const set = (section: string, key: string, value: string) => {
    const list = (kept.get(section) ?? []).filter((x) => x.key !== key);
    list.push({ key, value });
    kept.set(section, list);
  };
  set("storage", "backend", backendOf(o.storageUrl));
  set("storage", "url", o.storageUrl);
  set("rating", "backend", backendOf(o.ratingUrl));
  set("rating", "url", o.ratingUrl);
  if (o.metricsConf !== undefined) set("collect", "metrics_conf", o.metricsConf);
  // CloudKitty's API authenticates with Keystone unless told otherwise.
  set("api", "auth_strategy", authStrategy ?? "keystone");
  // On the loopback interface: the gateway serves the network only with TLS ([api] tls_cert_file, tls_key_file).
  set("api", "listen", `127.0.0.1:${apiPort ?? "8889"}`);
  notes.push(
    `[storage] backend = ${backendOf(o.storageUrl)}, [rating] backend = ${backendOf(o.ratingUrl)}: ratemesh's own databases`,
    `[api] auth_strategy = ${authStrategy ?? "keystone"} (${authStrategy === undefined ? "CloudKitty's default" : "from [DEFAULT] auth_strategy"}), listen = 127.0.0.1:${apiPort ?? "8889"} (CloudKitty's API port; to serve the network, give [api] tls_cert_file and tls_key_file and listen on its address)`,
  );
  for (const d of dropped.values()) notes.push(`left out [${d.section}] ${d.keys.join(", ")}: ${d.why}`);

  const lines = [
    `# ratemesh configuration written by \`ratemesh migrate from-cloudkitty\` from ${file}.`,
    "# The sections and options are CloudKitty's where the concept is the same; what was written instead or left out:",
    ...notes.map((n) => `#   ${n}`),
    "",
  ];
  for (const [section, list] of kept) {
    lines.push(`[${section}]`);
    for (const { key, value } of list) lines.push(`${key} = ${renderValue(value)}`);
    lines.push("");
  }
  return { text: lines.join("\n"), notes, period };
}

function etcd(url: string): boolean {
  try {
    parseCoordinationUrl(url);
    return true;
  } catch {
    return false;
  }
}
