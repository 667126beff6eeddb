/**
 * What a process's configuration says about its side of the trust
 * boundary: the TLS, guard and limits of its gRPC server, and the
 * credentials of its own calls to the others (its certificate presented,
 * the servers verified against [tls] ca_file).
 */
import { authenticatorFrom, policyOverridesFrom } from "../auth/from-config.js";
import type { baseSections } from "../config/common.js";
import type { ConfigOf } from "../config/schema.js";
import { type BaseTrustSections, type IdentityService, type IdentityTokenValues, trustValues } from "../config/trust.js";
import type { Logger } from "../logging/logger.js";
import { inputLimitsFrom, RequestLimits } from "../validation/limits.js";
import { Guard } from "./guard.js";
import type { ConnectionLimits, ServerOptions } from "./server.js";
import { CertificateFiles } from "./tls.js";

type Common = ConfigOf<typeof baseSections & BaseTrustSections>;

/** A service's own options (servedOptions in libs/config/trust.ts). */
export interface Served {
  tls_cert_file: string | undefined;
  tls_key_file: string | undefined;
  max_message_size: number;
}

function certificates(c: Common, cert: string | undefined, key: string | undefined, logger: Logger): CertificateFiles {
  return new CertificateFiles(
    { cert, key, ca: c.tls.ca_file },
    {
      reloadIntervalSeconds: c.tls.reload_interval,
      onReload: (err) => {
        if (err === undefined) logger.info({ cert, ca: c.tls.ca_file }, "TLS certificates reloaded");
        else logger.error({ err: err.message }, "TLS certificates not reloaded: the ones in use stay");
      },
    },
  );
}

export function connectionLimitsFrom(c: Common): ConnectionLimits {
  const s = c.server;
  return {
    maxConcurrentStreams: s.max_concurrent_streams,
    keepaliveTimeSeconds: s.keepalive_time,
    keepaliveTimeoutSeconds: s.keepalive_timeout,
    maxIdleSeconds: s.max_connection_idle,
    maxAgeSeconds: s.max_connection_age,
    maxAgeGraceSeconds: s.max_connection_age_grace,
  };
}

export type ServerTrust = Pick<ServerOptions, "tls" | "guard" | "connections" | "maxMessageBytes" | "maxStatusMessage" | "limits"> & {
  close(): Promise<void>;
};

/**
 * The server options of a service whose own section is `own` and whose
 * callers' identity service is `idp`. Throws (naming the file) when a
 * certificate cannot be used.
 */
export async function serverTrustFrom<N extends string>(
  c: Common & { readonly [K in N]: IdentityTokenValues },
  idp: IdentityService<string, N>,
  own: Served,
  logger: Logger,
): Promise<ServerTrust> {
  const files = own.tls_cert_file === undefined ? undefined : certificates(c, own.tls_cert_file, own.tls_key_file, logger);
  const authenticator = await authenticatorFrom(trustValues(c, idp));
  const guard = new Guard(authenticator, policyOverridesFrom(c));
  return {
    ...(files === undefined ? {} : { tls: { files, clientAuth: c.tls.client_auth } }),
    guard,
    connections: connectionLimitsFrom(c),
    maxMessageBytes: own.max_message_size > 0 ? own.max_message_size : c.server.max_message_size,
    maxStatusMessage: c.limits.max_status_message,
    limits: new RequestLimits(inputLimitsFrom(c.limits)),
    close: async () => {
      files?.close();
      await authenticator.close();
    },
  };
}

/**
 * The certificates of a process's own calls: undefined (plaintext) unless
 * [tls] ca_file is set; its certificate is presented when it has one.
 */
export function clientCertificatesFrom(
  c: Common,
  own: { tls_cert_file: string | undefined; tls_key_file: string | undefined },
  logger: Logger,
): CertificateFiles | undefined {
  if (c.tls.ca_file === undefined) return undefined;
  return certificates(c, own.tls_cert_file, own.tls_key_file, logger);
}
