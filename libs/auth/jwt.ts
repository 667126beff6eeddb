/**
 * Verification of signed JWTs (jose): the signature against configured
 * keys (a JWKS file or a PEM public key) or the issuer's JWKS URL, then
 * issuer, audience, expiry and not-before (with a tolerance for clock
 * skew). The caller's roles, project and name come from configured claims.
 * A verified token is remembered until it expires (at most a few minutes),
 * so a call with a token already seen costs a lookup.
 *
 * A bad token (malformed, forged, expired, wrong issuer or audience) is
 * refused (UNAUTHENTICATED); keys that cannot be fetched make the call
 * UNAVAILABLE.
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, importSPKI, type JWTPayload, type JWTVerifyGetKey, jwtVerify, type KeyObject } from "jose";
import { UnauthenticatedError, UnavailableError } from "../errors/errors.js";
import { type Principal, userPrincipal } from "./principal.js";
import { TokenCache } from "./token-cache.js";

export interface JwtOptions {
  jwksUrl?: string;
  keysFile?: string;
  issuer?: string;
  audience?: string;
  algorithms: readonly string[];
  rolesClaim: string;
  projectClaim: string;
  userClaim: string;
  clockSkewSeconds: number;
  jwksCacheSeconds: number;
  timeoutSeconds: number;
  now?: () => number;
}

const MAX_CACHED_TOKENS = 10_000;
/** A verified token is believed again without checking its signature for at most this long. */
const REMEMBER_MS = 5 * 60_000;

/** A claim by dotted path ("realm_access.roles"). */
function claim(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function stringList(v: unknown): string[] {
  if (typeof v === "string") return v.split(/\s+/).filter((s) => s !== "");
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === "string");
  return [];
}

export class JwtValidator {
  private readonly cache: TokenCache<Principal>;
  private readonly now: () => number;

  private constructor(
    private readonly opts: JwtOptions,
    private readonly key: JWTVerifyGetKey | KeyObject | Awaited<ReturnType<typeof importSPKI>>,
  ) {
    this.now = opts.now ?? Date.now;
    this.cache = new TokenCache(MAX_CACHED_TOKENS, this.now);
  }

  /** Reads the keys file (or prepares the JWKS URL); throws an Error naming the file. */
  static async create(opts: JwtOptions): Promise<JwtValidator> {
    if (opts.jwksUrl) {
      const set = createRemoteJWKSet(new URL(opts.jwksUrl), {
        timeoutDuration: Math.round(opts.timeoutSeconds * 1000),
        cacheMaxAge: Math.round(opts.jwksCacheSeconds * 1000),
      });
      return new JwtValidator(opts, set);
    }
    if (!opts.keysFile) throw new Error("JWT verification needs a JWKS URL or a keys file");
    let text: string;
    try {
      text = readFileSync(opts.keysFile, "utf8");
    } catch (err) {
      throw new Error(`JWT keys file ${opts.keysFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    try {
      if (text.trimStart().startsWith("{")) return new JwtValidator(opts, createLocalJWKSet(JSON.parse(text)));
      return new JwtValidator(opts, await importSPKI(text, opts.algorithms[0] ?? "RS256"));
    } catch (err) {
      throw new Error(`JWT keys file ${opts.keysFile}: not a JSON Web Key Set or a PEM public key (${(err as Error).message})`);
    }
  }

  validate(token: string): Promise<Principal> {
    return this.cache.get(
      token,
      async () => {
        const payload = await this.verify(token);
        const id = claim(payload, this.opts.userClaim);
        const project = claim(payload, this.opts.projectClaim);
        const principal = userPrincipal({
          id: typeof id === "string" && id !== "" ? id : String(payload.sub ?? ""),
          project: typeof project === "string" && project !== "" ? project : undefined,
          roles: stringList(claim(payload, this.opts.rolesClaim)),
        });
        const exp = (payload.exp as number) * 1000;
        return { value: principal, until: Math.min(exp, this.now() + REMEMBER_MS) };
      },
      () => undefined,
    );
  }

  private async verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.key as JWTVerifyGetKey, {
        algorithms: [...this.opts.algorithms],
        clockTolerance: this.opts.clockSkewSeconds,
        requiredClaims: ["exp"],
        currentDate: new Date(this.now()),
        ...(this.opts.issuer ? { issuer: this.opts.issuer } : {}),
        ...(this.opts.audience ? { audience: this.opts.audience } : {}),
      });
      return payload;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "ERR_JWKS_TIMEOUT" || typeof code !== "string" || !code.startsWith("ERR_J")) {
        throw new UnavailableError(`the token's signing keys cannot be fetched: ${(err as Error).message}`, { cause: err });
      }
      throw new UnauthenticatedError(`the token is not valid: ${(err as Error).message}`);
    }
  }
}
