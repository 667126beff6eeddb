import { bytes, duration, fraction, type HostPort, hostPort, int, listenOrOff, oneOf, str } from "./options.js";
import type { Reporter } from "./schema.js";
import {
  checkServed,
  checkTrust,
  connectionLimits,
  type IdentityService,
  servedOptions,
  type TrustValues,
  trustSections,
} from "./trust.js";

/**
 * Options every service reads (logging, gRPC server and client behaviour),
 * and the shapes several services share: the period every service agrees
 * on, and a service's address as it listens and as others reach it.
 */

export const log = {
  level: oneOf({
    help: "Minimum level of the log lines written to stdout (one JSON object per line).",
    choices: ["trace", "debug", "info", "warn", "error", "fatal"],
    default: "info",
  }),
};

export const server = {
  grace_period: duration({
    help: "On SIGTERM or SIGINT: how long in-flight calls (and a collector's current period) may take to finish before they are cancelled.",
    default: 10,
    min: 0,
  }),
  force_period: duration({
    help: "After the grace period: how long cancelled work may take to wind down before the process exits anyway.",
    default: 5,
    min: 0,
  }),
  max_message_size: bytes({
    help: "Largest gRPC message a server accepts or sends (a frame of 10,000 points is about 4 MiB).",
    default: 64 * 1024 * 1024,
    min: 4096,
  }),
  readiness_interval: duration({
    help: "How often a server re-checks its dependencies (database, etcd lease) to report its health.",
    default: 5,
    min: 0.1,
  }),
  ...connectionLimits,
};

export const client = {
  deadline: duration({
    help: "Deadline of every call to another ratemesh service, retries included.",
    default: 30,
    min: 0.1,
  }),
  retries: int({
    help: "How many times a call that failed with UNAVAILABLE is tried again, with exponential backoff.",
    default: 5,
    min: 0,
    max: 100,
  }),
  retry_backoff: duration({
    help: "First backoff delay between retries; it doubles at each attempt (with jitter), up to 5 s.",
    default: 0.1,
    min: 0,
  }),
  keepalive_time: duration({
    help: "Interval of HTTP/2 keepalive pings on connections to other ratemesh services.",
    default: 30,
    min: 1,
  }),
};

/**
 * Distributed tracing (OpenTelemetry), off by default: on, each service
 * sends its spans to an OTLP/HTTP receiver and carries the trace context in
 * its gRPC calls.
 */
export const tracing = {
  endpoint: str({
    help: "Base URL of an OTLP/HTTP receiver (an OpenTelemetry collector or any tracing backend that takes OTLP), e.g. http://127.0.0.1:4318; spans are sent to <endpoint>/v1/traces. Empty: tracing is off.",
    default: "",
  }),
  service_name: str({
    help: "service.name of this process's spans. Empty: ratemesh-<service> (ratemesh-storage, ratemesh-rating, ratemesh-collector).",
    default: "",
  }),
  sample_ratio: fraction({
    help: "Share of the traces started by this process that are recorded (0 to 1). A call that arrives in a trace follows the caller's decision, so a trace is recorded in every service or in none.",
    default: 1,
  }),
};

/**
 * The sections every service reads (the trust boundary's in trust.ts),
 * with its identity service's validator in the section the deployment
 * names (`idp`, declared by the service).
 */
export function commonSections<S extends string, N extends string>(idp: IdentityService<S, N>) {
  return { log, server, client, tracing, ...trustSections(idp) };
}

/** The common sections whatever the identity service is called. */
export const baseSections = { log, server, client, tracing };

/**
 * Where a service serves its metrics over HTTP (GET /metrics, text
 * exposition format). On by default, on the loopback interface like the
 * gRPC address: a service that cannot be watched cannot be run.
 */
export function metricsListen(service: string, defaultListen: string) {
  return {
    metrics_listen: listenOrOff({
      help: `Address of the ${service} service's metrics endpoint (HTTP, GET /metrics); port 0: any free port; off: no endpoint.`,
      default: defaultListen,
    }),
  };
}

/** The length of a period in seconds: every service that walks or stores periods reads the same option. */
export const periodOption = int({
  help: "Length of a rating period in seconds. Periods are aligned to the epoch, so it must divide a day (86400).",
  default: 3600,
  min: 1,
  max: 86400,
});

/**
 * How many finished periods to wait before rating one: the collector waits
 * them out, and storage refuses a commit that did not (a committer whose
 * clock runs ahead). One declaration for both.
 */
export const waitPeriodsOption = int({
  help: "Periods to wait before rating one, so that late measures arrive first, as CloudKitty: a period [b, b + period) is rated once b + wait_periods × period < now. 0: once it has ended (CloudKitty would rate it as soon as it begins).",
  default: 2,
  min: 0,
});

/**
 * The groupby key that names a point's scope: the collector adds it to
 * every metric's groupby, and the api gateway reads a pushed point's scope
 * from it (POST /v2/dataframes). One declaration for both.
 */
export const scopeKeyOption = str({
  help: "The attribute that identifies a scope (tenant) in the collected data; added to every metric's groupby.",
  default: "project_id",
});

/** Why a period length cannot be used, or undefined. */
/**
 * The time zone of billing months (tiered prices count the month-to-date
 * quantity): the collector reads the month-to-date from its start, storage
 * extends a reprocessing task to its end. One declaration for both.
 */
export const billingTimeZoneOption = str({
  help: "IANA time zone whose calendar months are the billing months of tiered prices (e.g. Europe/Paris); a period belongs to the month its begin is in.",
  default: "UTC",
});

/** Why the billing time zone cannot be used, or undefined. */
export function billingTimeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return undefined;
  } catch {
    return `${JSON.stringify(timeZone)} is not an IANA time zone`;
  }
}

export function periodProblem(seconds: number): string | undefined {
  return 86400 % seconds === 0 ? undefined : `${seconds} does not divide a day (86400 s), so periods could not align to days`;
}

/**
 * A service's address: `listen` (where it binds) and `endpoint` (how the
 * others reach it). Declared the same way by the service itself and by each
 * service that calls it.
 */
export function serviceAddress(service: string, defaultListen: string) {
  return {
    listen: hostPort({ help: `Address the ${service} service listens on (port 0: any free port).`, default: defaultListen }),
    endpoint: str({
      help: `Address other services use to reach ${service} (host:port). Default: the listen address.`,
    }),
  };
}

/** Why an endpoint option's value is not host:port, or undefined. */
export function endpointProblem(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || /^(\[[^\]]+\]|[^:/]+):\d{1,5}$/.test(endpoint)) return undefined;
  return `${JSON.stringify(endpoint)} is not host:port`;
}

/**
 * Where a service keeps its tables: `backend` (one of the engines the
 * service has, the first being the default) and `url` (a file, or a
 * postgresql:// URL).
 */
export function databaseOptions<const B extends readonly [string, ...string[]]>(spec: {
  backends: B;
  backendHelp: string;
  urlHelp: string;
  defaultFile: string;
  /** Backend names refused, each with what to use instead. */
  refusals?: Readonly<Record<string, string>>;
}) {
  return {
    backend: oneOf({
      help: spec.backendHelp,
      choices: spec.backends,
      default: spec.backends[0] as B[number],
      ...(spec.refusals !== undefined && { refusals: spec.refusals }),
    }),
    url: str({ help: spec.urlHelp, default: spec.defaultFile, secret: true }),
  };
}

/**
 * The section of a service that serves gRPC over its own tables: where it
 * listens and is reached, its metrics endpoint, its TLS and message size,
 * and its database.
 */
export function databaseServiceOptions<const B extends readonly [string, ...string[]]>(
  service: string,
  defaults: { listen: string; metrics: string },
  database: Parameters<typeof databaseOptions<B>>[0],
) {
  return {
    ...serviceAddress(service, defaults.listen),
    ...metricsListen(service, defaults.metrics),
    ...servedOptions(service),
    ...databaseOptions(database),
  };
}

/**
 * The checks of a service declared with databaseServiceOptions: its
 * database and endpoint, its address and TLS, and the trust options.
 */
export function checkDatabaseService<N extends string>(
  section: N,
  values: {
    backend: string;
    url: string;
    endpoint: string | undefined;
    listen: HostPort;
    tls_cert_file: string | undefined;
    tls_key_file: string | undefined;
  },
  trust: TrustValues,
  allowInsecureBind: boolean,
  report: Reporter,
): void {
  checkDatabase(section, values, report);
  checkTrust(trust, report);
  checkServed(section, values, allowInsecureBind, report);
}

/** Checks the database options of `section` (declared with databaseOptions) and its endpoint. */
export function checkDatabase<N extends string>(
  section: N,
  values: { backend: string; url: string; endpoint: string | undefined },
  report: (section: N, option: string, message: string) => void,
): void {
  if (values.backend === "postgresql" && !/^postgres(ql)?:\/\//.test(values.url)) {
    report(section, "url", "a postgresql:// URL is required when backend = postgresql");
  }
  if (values.backend === "sqlite" && values.url === "") report(section, "url", "a file path is required when backend = sqlite");
  const bad = endpointProblem(values.endpoint);
  if (bad !== undefined) report(section, "endpoint", bad);
}
