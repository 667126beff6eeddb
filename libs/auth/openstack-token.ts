/**
 * Validation of OpenStack identity (v3) tokens, as OpenStack's auth token middleware does
 * it: the service user gets a token of its own (password, project scope),
 * then each caller's token is checked with GET /v3/auth/tokens
 * (X-Subject-Token) and turned into a principal: user, project, roles.
 *
 * What is concluded is cached for at most `cacheSeconds` and never past
 * the token's expiry, so a revoked token stays usable that long at most.
 * A token the identity service does not know (404) is refused
 * (UNAUTHENTICATED); when the identity service cannot be asked (down,
 * slow, a 5xx, the service user refused) the call fails with UNAVAILABLE:
 * never a silent allow.
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { UnauthenticatedError, UnavailableError } from "../errors/errors.js";
import { type Principal, userPrincipal } from "./principal.js";
import { TokenCache } from "./token-cache.js";

export interface OpenStackTokenOptions {
  /** The identity URL: http://host:5000/v3 (or without /v3). */
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  cacheSeconds: number;
  timeoutSeconds: number;
  /** PEM CA bundle for an HTTPS identity URL; empty: the system's. */
  caFile?: string;
  /** Where the operator sets these options, named in errors (e.g. a config section). */
  settings?: string;
  now?: () => number;
}

interface TokenBody {
  token?: {
    expires_at?: string;
    user?: { id?: string; name?: string };
    project?: { id?: string };
    roles?: Array<{ name?: string }>;
  };
}

const MAX_CACHED_TOKENS = 10_000;
/** The service token is renewed this long before it expires. */
const RENEW_BEFORE_MS = 60_000;

export class OpenStackTokenValidator {
  private readonly base: string;
  private readonly agent: Agent;
  private readonly cache: TokenCache<Principal>;
  private readonly now: () => number;
  private serviceToken: { token: string; until: number } | undefined;
  private serviceTokenPending: Promise<string> | undefined;

  constructor(private readonly opts: OpenStackTokenOptions) {
    const url = opts.authUrl.replace(/\/+$/, "");
    this.base = url.endsWith("/v3") ? url : `${url}/v3`;
    const timeout = Math.round(opts.timeoutSeconds * 1000);
    this.agent = new Agent({
      connect: { timeout, ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}) },
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    this.now = opts.now ?? Date.now;
    this.cache = new TokenCache(MAX_CACHED_TOKENS, this.now);
  }

  /** The principal of a token; throws UnauthenticatedError or UnavailableError. */
  validate(token: string): Promise<Principal> {
    const cacheMs = this.opts.cacheSeconds * 1000;
    return this.cache.get(
      token,
      async () => {
        const body = await this.check(token);
        const t = body.token;
        const expires = Date.parse(t?.expires_at ?? "");
        if (t?.user?.id === undefined || Number.isNaN(expires)) {
          throw new UnavailableError("the identity service answered a token validation without a user or an expiry");
        }
        if (expires <= this.now()) throw new UnauthenticatedError("the token has expired");
        const principal = userPrincipal({
          id: t.user.id,
          name: t.user.name,
          project: t.project?.id,
          roles: (t.roles ?? []).flatMap((r) => (typeof r.name === "string" ? [r.name] : [])),
        });
        return { value: principal, until: Math.min(expires, this.now() + cacheMs) };
      },
      (err) => (err instanceof UnauthenticatedError ? { cacheUntil: this.now() + cacheMs } : undefined),
    );
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async check(token: string, renewed = false): Promise<TokenBody> {
    const service = await this.serviceTokenNow();
    const res = await this.http("GET", "/auth/tokens", { "x-auth-token": service, "x-subject-token": token });
    if (res.status === 200) return res.body as TokenBody;
    if (res.status === 404) throw new UnauthenticatedError("the token is not valid (unknown, expired or revoked)");
    if (res.status === 401 && !renewed) {
      // The service's own token was revoked or expired early: get a new one, once.
      this.serviceToken = undefined;
      return this.check(token, true);
    }
    throw new UnavailableError(
      `the identity service refused to validate tokens (HTTP ${res.status}): check ${this.opts.settings ?? "the identity service's settings"}`,
    );
  }

  private serviceTokenNow(): Promise<string> {
    const cached = this.serviceToken;
    if (cached !== undefined && cached.until > this.now()) return Promise.resolve(cached.token);
    this.serviceTokenPending ??= this.fetchServiceToken().finally(() => {
      this.serviceTokenPending = undefined;
    });
    return this.serviceTokenPending;
  }

  private async fetchServiceToken(): Promise<string> {
    const o = this.opts;
    const res = await this.http(
      "POST",
      "/auth/tokens",
      {},
      {
        auth: {
          identity: {
            methods: ["password"],
            password: { user: { name: o.username, domain: { name: o.userDomainName }, password: o.password } },
          },
          scope: { project: { name: o.projectName, domain: { name: o.projectDomainName } } },
        },
      },
    );
    const token = res.headers["x-subject-token"];
    if (res.status !== 201 || typeof token !== "string") {
      throw new UnavailableError(
        `the service user could not authenticate to the identity service (HTTP ${res.status}): check ${this.opts.settings ?? "the identity service's settings"}`,
      );
    }
    const expires = Date.parse((res.body as TokenBody).token?.expires_at ?? "");
    const until = Number.isNaN(expires) ? this.now() + 5 * 60_000 : Math.max(this.now(), expires - RENEW_BEFORE_MS);
    this.serviceToken = { token, until };
    return token;
  }

  private async http(
    method: "GET" | "POST",
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
    try {
      const res = await request(`${this.base}${path}`, {
        method,
        dispatcher: this.agent,
        // One connection per request: a WSGI server that closes idle connections cannot break the next call.
        reset: true,
        headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await res.body.text();
      if (res.statusCode >= 500) throw new UnavailableError(`the identity service answered HTTP ${res.statusCode}`);
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.statusCode, body: parsed, headers: res.headers };
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      throw new UnavailableError(`the identity service at ${this.base} cannot be reached: ${(err as Error).message}`, { cause: err });
    }
  }
}
