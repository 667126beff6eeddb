/**
 * Who a call comes from, by the configured strategy: noauth (everyone, no
 * questions), or a token strategy (an OpenStack identity token or a JWT).
 * Under a token strategy a call with a token is its token's user (even
 * over a connection with a client certificate: the gateway acts for its
 * callers); a call without one is the mesh's service identity when its
 * verified client certificate carries one of the configured names, and is
 * refused otherwise.
 */
import type { PeerCertificate } from "node:tls";
import { UnauthenticatedError } from "../errors/errors.js";
import { NOAUTH_PRINCIPAL, type Principal, servicePrincipal } from "./principal.js";

/** noauth, jwt, or the name the deployment gives its identity service's tokens. */
export type AuthStrategy = string;

/** What a call presents. */
export interface Credentials {
  token: string | undefined;
  /** The verified client certificate, if any. */
  certificate: PeerCertificate | undefined;
}

export interface TokenValidator {
  validate(token: string): Promise<Principal>;
  close?(): Promise<void>;
}

export interface Authenticator {
  readonly strategy: AuthStrategy;
  /** Throws UnauthenticatedError (no or bad credentials) or UnavailableError (the validator cannot tell). */
  authenticate(c: Credentials): Promise<Principal>;
  close(): Promise<void>;
}

/** The names a certificate carries: subject CN, then DNS and URI subject alternative names. */
export function certificateNames(cert: PeerCertificate | undefined): string[] {
  if (cert === undefined) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === "string") names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const part of (cert.subjectaltname ?? "").split(/,\s*/)) {
    const m = /^(DNS|URI):(.+)$/.exec(part.trim());
    if (m !== null) names.push(m[2] as string);
  }
  return names;
}

export const noauth: Authenticator = {
  strategy: "noauth",
  authenticate: async () => NOAUTH_PRINCIPAL,
  close: async () => {},
};

export function tokenAuthenticator(o: {
  strategy: AuthStrategy;
  validator: TokenValidator;
  serviceIdentities: readonly string[];
  /** Told to a caller without credentials (where to get a token). */
  hint?: string;
}): Authenticator {
  const identities = new Set(o.serviceIdentities);
  return {
    strategy: o.strategy,
    async authenticate(c) {
      if (c.token !== undefined && c.token !== "") return o.validator.validate(c.token);
      const service = certificateNames(c.certificate).find((n) => identities.has(n));
      if (service !== undefined) return servicePrincipal(service);
      throw new UnauthenticatedError(
        `authentication required: send a token as x-auth-token (or authorization: Bearer) metadata${o.hint ? ` (${o.hint})` : ""}`,
      );
    },
    close: async () => {
      await o.validator.close?.();
    },
  };
}
