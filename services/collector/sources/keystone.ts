/**
 * Keystone v3 password authentication, as keystoneauth's password plugin
 * does it for CloudKitty: POST /v3/auth/tokens with the user's password and
 * a project scope; the token is the X-Subject-Token header, the service
 * endpoint comes from the token's catalog (service type, interface, region).
 *
 * The token is cached and renewed before it expires (when less than a
 * tenth of its lifetime, at most 5 minutes, is left), so a request never
 * starts with a token about to lapse. Concurrent callers share one renewal.
 * A 401 from the service invalidates the token and the caller tries once
 * more with a fresh one (a token revoked before its expiry).
 */
import type { Clock } from "../../../libs/time/period.js";
import { excerpt, type HttpSource, header, SourceHttpError } from "./http.js";

export interface KeystonePasswordAuth {
  authUrl: string;
  username?: string | undefined;
  userId?: string | undefined;
  password: string;
  userDomainName?: string | undefined;
  userDomainId?: string | undefined;
  projectName?: string | undefined;
  projectId?: string | undefined;
  projectDomainName?: string | undefined;
  projectDomainId?: string | undefined;
}

export interface CatalogChoice {
  /** "metric" for Gnocchi. */
  serviceType: string;
  /** internal, public or admin (the URL suffixed forms are accepted). */
  interface: string;
  regionName: string;
}

export interface Token {
  value: string;
  issuedAt: number;
  expiresAt: number;
  /** The chosen service endpoint from the catalog, if any. */
  endpoint: string | undefined;
  /** The id of the user the token was issued to. */
  userId: string;
}

const MAX_MARGIN_MS = 5 * 60 * 1000;

/** A URL of the identity v3 API (a path, with its query if any) under the configured auth URL: /v3 is added when it lacks it. */
export function identityUrl(authUrl: string, pathAndQuery: string): URL {
  const u = new URL(authUrl);
  const [path = "", query] = pathAndQuery.split("?", 2);
  const base = u.pathname.replace(/\/+$/, "");
  u.pathname = /\/v3$/.test(base) ? `${base}${path}` : `${base}/v3${path}`;
  u.search = query === undefined ? "" : `?${query}`;
  return u;
}

/** The token request's URL. */
export function tokensUrl(authUrl: string): URL {
  return identityUrl(authUrl, "/auth/tokens");
}

function domain(name: string | undefined, id: string | undefined): { id: string } | { name: string } | undefined {
  if (id) return { id };
  if (name) return { name };
  return undefined;
}

export function passwordRequestBody(a: KeystonePasswordAuth): string {
  const user: Record<string, unknown> = { password: a.password };
  if (a.userId) user.id = a.userId;
  else {
    user.name = a.username;
    user.domain = domain(a.userDomainName, a.userDomainId);
  }
  const project: Record<string, unknown> = {};
  if (a.projectId) project.id = a.projectId;
  else {
    project.name = a.projectName;
    project.domain = domain(a.projectDomainName, a.projectDomainId);
  }
  return JSON.stringify({ auth: { identity: { methods: ["password"], password: { user } }, scope: { project } } });
}

interface CatalogEntry {
  type?: string;
  endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }>;
}

export function endpointFromCatalog(catalog: CatalogEntry[], choice: CatalogChoice): string | undefined {
  const iface = choice.interface.replace(/URL$/, "");
  for (const service of catalog) {
    if (service.type !== choice.serviceType) continue;
    for (const ep of service.endpoints ?? []) {
      if (ep.interface !== iface) continue;
      if (choice.regionName !== "" && ep.region_id !== choice.regionName && ep.region !== choice.regionName) continue;
      if (ep.url) return ep.url;
    }
  }
  return undefined;
}

export class KeystoneSession {
  private current: Token | undefined;
  private pending: Promise<Token> | undefined;
  /** Tokens issued so far (for status and tests). */
  issued = 0;

  constructor(
    private readonly auth: KeystonePasswordAuth,
    private readonly choice: CatalogChoice,
    private readonly http: HttpSource,
    private readonly clock: Clock,
  ) {}

  /** A valid token, renewed first if it is close to expiring. */
  async token(signal?: AbortSignal): Promise<Token> {
    const now = this.clock.now().getTime();
    const t = this.current;
    if (t !== undefined && now < t.expiresAt - Math.min(MAX_MARGIN_MS, (t.expiresAt - t.issuedAt) / 10)) return t;
    this.pending ??= this.issue(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets a token the service refused, so the next call gets a new one. */
  invalidate(token: Token): void {
    if (this.current === token) this.current = undefined;
  }

  private async issue(signal?: AbortSignal): Promise<Token> {
    const url = tokensUrl(this.auth.authUrl);
    const issuedAt = this.clock.now().getTime();
    const res = await this.http.request({
      method: "POST",
      url,
      headers: { "content-type": "application/json", accept: "application/json" },
      body: passwordRequestBody(this.auth),
      signal,
    });
    const value = header(res, "x-subject-token");
    if (res.status !== 201 && res.status !== 200) {
      throw new SourceHttpError("Keystone", `POST ${url}`, res.status, excerpt(res.body), res.attempts, undefined, false);
    }
    let body: { token?: { expires_at?: string; catalog?: CatalogEntry[]; user?: { id?: string } } };
    try {
      body = JSON.parse(res.body);
    } catch {
      throw new SourceHttpError("Keystone", `POST ${url}`, res.status, `not JSON: ${excerpt(res.body)}`, res.attempts, undefined, false);
    }
    const expiresAt = Date.parse(body.token?.expires_at ?? "");
    if (value === undefined || Number.isNaN(expiresAt)) {
      throw new SourceHttpError(
        "Keystone",
        `POST ${url}`,
        res.status,
        "no X-Subject-Token or expires_at in the answer",
        res.attempts,
        undefined,
        false,
      );
    }
    const token: Token = {
      value,
      expiresAt,
      issuedAt,
      endpoint: endpointFromCatalog(body.token?.catalog ?? [], this.choice),
      userId: body.token?.user?.id ?? "",
    };
    this.current = token;
    this.issued++;
    return token;
  }
}
