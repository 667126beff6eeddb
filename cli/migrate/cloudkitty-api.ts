/**
 * Reading a running CloudKitty through its REST API (v1 for rating modules
 * and the hashmap price list, v2 for scope states), without Keystone
 * (`auth_strategy = noauth`) or with a Keystone token: given, or from a
 * password (the token's catalog then gives the `rating` endpoint when none
 * is given). Read only: nothing is sent to CloudKitty but GETs, and a token
 * request.
 */
import { CliError } from "../errors.js";
import { catalogEndpoint, type PasswordAuth, passwordToken } from "../keystone.js";

export interface CloudKittyModule {
  module_id: string;
  enabled: boolean;
  priority: number;
}

export interface CloudKittyRule {
  service_id: string | null;
  field_id: string | null;
  group_id: string | null;
  tenant_id: string | null;
  type: "flat" | "rate";
  cost: string;
}

export interface CloudKittyMapping extends CloudKittyRule {
  mapping_id: string;
  value: string | null;
  /** CloudKitty 20 and later; absent (17) or null: no date, the mapping always applies. */
  start?: string | null;
  end?: string | null;
  name?: string | null;
  description?: string | null;
}

export interface CloudKittyThreshold extends CloudKittyRule {
  threshold_id: string;
  level: string;
}

export interface CloudKittyScope {
  scope_id: string;
  scope_key: string | null;
  fetcher: string | null;
  collector: string | null;
  /** The begin of the last rated period (CloudKitty's meaning), as CloudKitty writes it. */
  last_processed_timestamp: string | null;
  active: boolean;
}

/** Everything a migration reads from CloudKitty. */
export interface CloudKittyState {
  modules: CloudKittyModule[];
  services: Array<{ service_id: string; name: string }>;
  fields: Array<{ field_id: string; service_id: string; name: string }>;
  groups: Array<{ group_id: string; name: string }>;
  mappings: CloudKittyMapping[];
  thresholds: CloudKittyThreshold[];
  scopes: CloudKittyScope[];
  /** Names of the PyScripts rules, which have no ratemesh counterpart. */
  pyscripts: string[];
}

/** How CloudKitty's API is read: without auth, a given token, or Keystone credentials (the catalog's interface for its endpoint). */
export type CloudKittyAuth =
  | { kind: "noauth" }
  | { kind: "token"; token: string }
  | ({ kind: "password"; interface: string } & PasswordAuth);

const HASHMAP = "/v1/rating/module_config/hashmap";
const SCOPE_PAGE = 100;

export class CloudKittyApi {
  private token: string | undefined;
  private base: string | undefined;

  constructor(
    endpoint: string | undefined,
    private readonly auth: CloudKittyAuth,
  ) {
    this.base = endpoint?.replace(/\/+$/, "");
  }

  /** Where it reads from (after connect). */
  get url(): string {
    return this.base ?? "";
  }

  /** Authenticates (a password gives a token, and the endpoint when none was given). */
  async connect(): Promise<void> {
    if (this.auth.kind === "token") this.token = this.auth.token;
    if (this.auth.kind === "password") {
      const { token, catalog } = await passwordToken(this.auth);
      this.token = token;
      this.base ??= catalogEndpoint(catalog, "rating", this.auth.interface)?.replace(/\/+$/, "");
    }
    if (this.base === undefined) {
      throw new CliError("usage", "give CloudKitty's API URL (--cloudkitty), or Keystone credentials whose catalog has a rating endpoint");
    }
  }

  /** A GET answered with JSON; `missing` statuses (CloudKitty's 404 for an empty list) give undefined. */
  async get<T>(path: string, missing: number[] = []): Promise<T | undefined> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: "application/json", ...(this.token === undefined ? {} : { "x-auth-token": this.token }) },
      });
    } catch (err) {
      throw new CliError(
        "unavailable",
        `cannot reach CloudKitty at ${this.base}: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`,
      );
    }
    const text = await res.text();
    if (missing.includes(res.status)) return undefined;
    if (res.status === 401 || res.status === 403)
      throw new CliError("auth", `CloudKitty GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    if (res.status !== 200) throw new CliError("generic", `CloudKitty GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  private async must<T>(path: string): Promise<T> {
    return (await this.get<T>(path)) as T;
  }

  /** The modules, the whole hashmap price list, the PyScripts names and every scope state. */
  async readAll(): Promise<CloudKittyState> {
    const modules = (await this.must<{ modules: CloudKittyModule[] }>("/v1/rating/modules")).modules;
    const services = (await this.must<{ services: CloudKittyState["services"] }>(`${HASHMAP}/services`)).services;
    const groups = (await this.must<{ groups: CloudKittyState["groups"] }>(`${HASHMAP}/groups`)).groups;
    const fields: CloudKittyState["fields"] = [];
    const mappings: CloudKittyMapping[] = [];
    const thresholds: CloudKittyThreshold[] = [];
    // CloudKitty 17 lists rules by parent only (a listing without one fails).
    const rulesOf = async (query: string) => {
      mappings.push(...(await this.must<{ mappings: CloudKittyMapping[] }>(`${HASHMAP}/mappings?${query}`)).mappings);
      thresholds.push(...(await this.must<{ thresholds: CloudKittyThreshold[] }>(`${HASHMAP}/thresholds?${query}`)).thresholds);
    };
    for (const s of services) {
      await rulesOf(`service_id=${encodeURIComponent(s.service_id)}`);
      const own = (
        await this.must<{ fields: CloudKittyState["fields"] }>(`${HASHMAP}/fields?service_id=${encodeURIComponent(s.service_id)}`)
      ).fields;
      fields.push(...own);
      for (const f of own) await rulesOf(`field_id=${encodeURIComponent(f.field_id)}`);
    }
    const scripts = await this.get<{ scripts: Array<{ name: string }> }>("/v1/rating/module_config/pyscripts/scripts", [404, 409]);
    return {
      modules,
      services,
      fields,
      groups,
      mappings,
      thresholds,
      scopes: await this.scopes(),
      pyscripts: (scripts?.scripts ?? []).map((s) => s.name),
    };
  }

  /** Every scope state, page by page (an empty page is CloudKitty's 404). */
  private async scopes(): Promise<CloudKittyScope[]> {
    const out: CloudKittyScope[] = [];
    for (let offset = 0; ; offset += SCOPE_PAGE) {
      const page = await this.get<{ results: CloudKittyScope[] }>(`/v2/scope?offset=${offset}&limit=${SCOPE_PAGE}`, [404]);
      const results = page?.results ?? [];
      out.push(...results);
      if (results.length < SCOPE_PAGE) return out;
    }
  }
}
