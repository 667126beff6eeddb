/**
 * Where the services are and how to talk to them, from (first wins) the
 * command line, the environment, a config file and the services' own
 * defaults. The config file is an INI file with [storage], [rating] and
 * [collector] sections, so the mesh's own ratemesh.conf works as is: a
 * section's `endpoint` (how others reach the service) is used, else its
 * `listen` address.
 */
import { readFileSync } from "node:fs";
import { parseIni } from "../libs/config/ini.js";
import { CliError } from "./errors.js";
import { type PasswordAuth, type PasswordOptions, passwordAuthFrom } from "./keystone.js";

export type ServiceRole = "storage" | "rating" | "collector";

export const ROLES: readonly ServiceRole[] = ["storage", "rating", "collector"];

/** The services' own default listen addresses. */
export const DEFAULT_ADDRESS: Record<ServiceRole, string> = {
  storage: "127.0.0.1:9631",
  rating: "127.0.0.1:9632",
  collector: "127.0.0.1:9633",
};

/** The global options, as commander gives them (flags and environment already merged). */
export interface GlobalOptions extends PasswordOptions {
  config?: string;
  storage?: string;
  rating?: string;
  collector?: string;
  osToken?: string;
  osCacert?: string;
  osCert?: string;
  osKey?: string;
  timeout: number;
}

export interface Settings {
  address: Record<ServiceRole, string>;
  /** Sent as x-auth-token metadata on every call when set. */
  token: string | undefined;
  /** Keystone credentials a token is asked for with, when no token is given (authenticate()). */
  keystone: PasswordAuth | undefined;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  deadlineSeconds: number;
}

export function resolveSettings(o: GlobalOptions): Settings {
  const fromFile = o.config === undefined ? {} : addressesFromConfig(o.config);
  const address = {} as Record<ServiceRole, string>;
  for (const role of ROLES) address[role] = o[role] ?? fromFile[role] ?? DEFAULT_ADDRESS[role];
  const token = o.osToken || undefined;
  // A given token wins, as with the openstack CLI (OS_TOKEN over a password).
  const keystone = token === undefined ? passwordAuthFrom(o) : undefined;
  return { address, token, keystone, tls: tlsFiles(o), deadlineSeconds: o.timeout };
}

function readOption(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CliError("usage", `${flag}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function tlsFiles(o: GlobalOptions): Settings["tls"] {
  if (o.osCacert === undefined && o.osCert === undefined && o.osKey === undefined) return undefined;
  if ((o.osCert === undefined) !== (o.osKey === undefined)) {
    throw new CliError(
      "usage",
      `${o.osCert === undefined ? "--os-cert" : "--os-key"}: a client certificate needs both --os-cert and --os-key`,
    );
  }
  return {
    ...(o.osCacert !== undefined && { ca: readOption(o.osCacert, "--os-cacert") }),
    ...(o.osCert !== undefined && { cert: readOption(o.osCert, "--os-cert") }),
    ...(o.osKey !== undefined && { key: readOption(o.osKey, "--os-key") }),
  };
}

/** The addresses a config file gives, by role. */
export function addressesFromConfig(file: string): Partial<Record<ServiceRole, string>> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError("usage", `--config: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { entries, problems } = parseIni(text);
  const first = problems[0];
  if (first !== undefined) throw new CliError("usage", `${file}:${first.line}: ${first.message}`);
  const out: Partial<Record<ServiceRole, string>> = {};
  for (const role of ROLES) {
    const option = (key: string) => entries.filter((e) => e.section === role && e.key === key).at(-1);
    const endpoint = option("endpoint");
    if (endpoint !== undefined && endpoint.value !== "") {
      out[role] = endpoint.value;
      continue;
    }
    const listen = option("listen");
    if (listen === undefined || listen.value === "") continue;
    const reachable = reachableFromListen(listen.value);
    if (reachable === undefined) {
      throw new CliError(
        "usage",
        `${file}:${listen.line}: [${role}] listen = ${listen.value} does not tell where the service is (port 0 or no port); give [${role}] endpoint or --${role}`,
      );
    }
    out[role] = reachable;
  }
  return out;
}

/** A listen address as a client reaches it on this host: a wildcard host becomes the loopback. */
export function reachableFromListen(listen: string): string | undefined {
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(listen.trim());
  if (m === null || m[2] === "0") return undefined;
  const host = m[1] ?? "";
  const wildcard = host === "" || host === "0.0.0.0" || host === "[::]" || host === "*";
  return `${wildcard ? "127.0.0.1" : host}:${m[2]}`;
}
