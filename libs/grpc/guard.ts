/**
 * The one gate of every call: who is calling (the token in the metadata,
 * else the verified client certificate), whether the policy lets them call
 * the method, and, for a caller confined to a project, the request
 * narrowed to that project. Handlers then run as that caller
 * (`Guard.current()` tells code deeper down who it is, for the audit
 * trail). Under noauth everyone passes unconfined, as CloudKitty's noauth
 * skips its policy.
 *
 * A method registered without a policy is refused to everyone but noauth
 * callers: a new method is closed until its service says who may call it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { PeerCertificate } from "node:tls";
import type { Metadata } from "@grpc/grpc-js";
import type { Authenticator } from "../auth/authenticate.js";
import { type MethodPolicy, Rule } from "../auth/policy.js";
import type { Principal } from "../auth/principal.js";
import { PermissionDeniedError } from "../errors/errors.js";
import type { RequestOf, ServiceDef } from "./types.js";

/** A service's policy: one entry per method of its definition. */
export type PolicyTable<S extends ServiceDef> = { readonly [K in keyof S]: MethodPolicy<RequestOf<S[K]>> };

/** The call in progress, as code under a handler sees it. */
export interface CurrentCall {
  readonly principal: Principal;
  /** "Service/Method". */
  readonly method: string;
  /** What the change is recorded against, when the method is audited. */
  readonly auditTarget: string | undefined;
}

interface Entry {
  rule: Rule;
  policy: MethodPolicy<unknown>;
}

/** The token a call carries: x-auth-token, else authorization: Bearer. */
export function tokenOf(metadata: Metadata): string | undefined {
  const direct = metadata.get("x-auth-token")[0];
  if (direct !== undefined && String(direct) !== "") return String(direct);
  const auth = metadata.get("authorization")[0];
  const m = auth === undefined ? null : /^Bearer\s+(\S+)$/i.exec(String(auth));
  return m?.[1];
}

export class Guard {
  private readonly methods = new Map<string, Entry>();
  private readonly calls = new AsyncLocalStorage<CurrentCall>();

  constructor(
    readonly authenticator: Authenticator,
    /** Rules from the policy file, by method; they replace the defaults. */
    private readonly overrides: ReadonlyMap<string, Rule> = new Map(),
  ) {}

  /** Records a method's policy (its rule replaced by the policy file's, if any). */
  register(method: string, policy: MethodPolicy<unknown> | undefined): void {
    if (policy === undefined) return;
    this.methods.set(method, { rule: this.overrides.get(method) ?? Rule.parse(policy.rule), policy });
  }

  /** Throws if the policy file names a method no registered service has (a typo would silently keep the default). */
  checkOverrides(): void {
    const unknown = [...this.overrides.keys()].filter((m) => !this.methods.has(m));
    if (unknown.length > 0) {
      throw new Error(
        `the policy file names methods this server does not have: ${unknown.join(", ")} (it has ${[...this.methods.keys()].join(", ")})`,
      );
    }
  }

  /** The effective rule of each method, for documentation and tests. */
  rules(): Map<string, string> {
    return new Map([...this.methods].map(([m, e]) => [m, e.rule.source]));
  }

  /**
   * Authenticates and authorizes a call; resolves with its caller and the
   * request to hand to the handler (narrowed for a confined caller).
   * Throws UNAUTHENTICATED, PERMISSION_DENIED (naming the method and what
   * the caller lacks) or UNAVAILABLE.
   */
  async admit<Req>(
    method: string,
    metadata: Metadata,
    certificate: PeerCertificate | undefined,
    request: Req,
  ): Promise<{ principal: Principal; request: Req; auditTarget: string | undefined }> {
    const principal = await this.authenticator.authenticate({ token: tokenOf(metadata), certificate });
    const entry = this.methods.get(method);
    const auditTarget = entry?.policy.audit?.(request as never);
    if (this.authenticator.strategy === "noauth") return { principal, request, auditTarget };
    if (entry === undefined) throw new PermissionDeniedError(`${method}: no policy allows this method`);
    if (!entry.rule.allows(principal)) throw new PermissionDeniedError(`${method}: permission denied: needs ${entry.rule.describe()}`);
    if (principal.unconfined || entry.policy.confine === undefined) return { principal, request, auditTarget };
    const narrowed = entry.policy.confine(request as never, principal.project) as Req | undefined;
    if (narrowed === undefined) {
      throw new PermissionDeniedError(`${method}: permission denied: acting beyond the caller's own project needs role admin`);
    }
    return { principal, request: narrowed, auditTarget };
  }

  /** Runs fn as the given call: current() answers it inside. */
  run<T>(call: CurrentCall, fn: () => T): T {
    return this.calls.run(call, fn);
  }

  /** The call the code runs under, if any. */
  current(): CurrentCall | undefined {
    return this.calls.getStore();
  }
}
