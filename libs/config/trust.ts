/**
 * The options of the trust boundary every service reads (part of
 * commonSections): TLS of the mesh, how callers authenticate and where the
 * policy is, the token validators' settings, connection limits and input
 * limits. The options of the identity service's token validator follow
 * the OpenStack auth token middleware's names where the concept is the same; the section
 * they live in and the auth_strategy value that selects them are the
 * deployment's names for its identity service, which each service declares
 * (an IdentityService) and hands to commonSections.
 */
import { bool, bytes, duration, type HostPort, int, list, oneOf, showHostPort, str } from "./options.js";
import type { ConfigOf, Reporter } from "./schema.js";

export const tls = {
  ca_file: str({
    help: "PEM CA bundle of the mesh. Servers verify client certificates against it; clients (service to service, the gateway) verify servers against it, and once it is set every call between services is TLS.",
  }),
  client_auth: oneOf({
    help: "Client certificates a TLS server asks for: none; optional (a verified certificate names its holder: the service identity); require (mTLS: a client without a certificate from [tls] ca_file cannot connect).",
    choices: ["none", "optional", "require"],
    default: "optional",
  }),
  reload_interval: duration({
    help: "How often the certificate, key and CA files are checked for a change; a changed file is loaded for new connections (SIGHUP reloads them at once).",
    default: 60,
    min: 1,
  }),
};

/**
 * An identity service whose tokens callers bring, validated with the v3
 * identity API (libs/auth/openstack-token.ts): the value of [auth]
 * auth_strategy that selects it, the section of its validator's options,
 * and how help and messages call it.
 */
export interface IdentityService<S extends string = string, N extends string = string> {
  readonly strategy: S;
  readonly section: N;
  readonly name: string;
}

export function authOptions<S extends string>(idp: IdentityService<S>) {
  return {
    auth_strategy: oneOf({
      help: `How callers authenticate, as CloudKitty's auth_strategy: noauth (nobody is asked who they are: for a loopback-only mesh), ${idp.strategy} (a ${idp.name} v3 token in x-auth-token or authorization: Bearer metadata, validated against [${idp.section}]) or jwt (a signed JWT in the same metadata, verified per [jwt]).`,
      choices: ["noauth", idp.strategy, "jwt"] as const,
      default: "noauth",
    }),
    policy_file: str({
      help: 'YAML or JSON file of rules overriding the default policy, one per method: "StorageService/Summary": "role:reader or service". A rule is alternatives joined by "or": role:<name>, service (the service identity), @ (any authenticated caller), ! (nobody). Empty: the defaults (each service\'s README lists them).',
      default: "",
    }),
    service_identities: list({
      help: "The names (subject CN, DNS or URI subject alternative name) of client certificates that act as the mesh's own service identity, the only caller of the internal methods (CommitPeriod, RecordScopeError, Rate, ...). Never list the gateway's certificate: it acts for its callers.",
      default: ["ratemesh-collector"],
    }),
  };
}

/** The options of the identity service's token validator (its section is the deployment's name for it). */
export function identityTokenOptions(idp: IdentityService) {
  const name = idp.name;
  return {
    www_authenticate_uri: str({
      help: `${name}'s public URL, told to callers refused for want of a token (WWW-Authenticate). Default: auth_url.`,
      default: "",
    }),
    auth_url: str({ help: `${name}'s identity URL tokens are validated against, e.g. http://identity:5000/v3.`, default: "" }),
    username: str({ help: "The service user that validates tokens (it needs the service or admin role).", default: "" }),
    password: str({ help: "The service user's password.", default: "", secret: true }),
    project_name: str({ help: "The service user's project.", default: "service" }),
    user_domain_name: str({ help: "The service user's domain.", default: "Default" }),
    project_domain_name: str({ help: "The service project's domain.", default: "Default" }),
    token_cache_time: duration({
      help: `How long a token validated by ${name} (or refused by it) is believed without asking again, never past its expiry: a revoked token stays usable this long at most. 0: every call asks ${name}.`,
      default: 300,
      min: 0,
    }),
    http_connect_timeout: duration({
      help: `Deadline of each request to ${name}; past it the call fails with UNAVAILABLE.`,
      default: 5,
      min: 0.1,
    }),
    cafile: str({ help: `PEM CA bundle ${name}'s HTTPS certificate is verified against. Empty: the system's.`, default: "" }),
  };
}

export type IdentityTokenOptions = ReturnType<typeof identityTokenOptions>;
/** The parsed values of the identity service's section. */
export type IdentityTokenValues = ConfigOf<{ s: IdentityTokenOptions }>["s"];

export const jwt = {
  jwks_url: str({
    help: "URL of the issuer's JSON Web Key Set; keys are fetched when an unknown key id is seen, at most every [jwt] jwks_cache_time.",
    default: "",
  }),
  keys_file: str({ help: "A file of verification keys instead of jwks_url: a JSON Web Key Set, or one PEM public key.", default: "" }),
  issuer: str({ help: "The iss claim every token must carry. Empty: not checked.", default: "" }),
  audience: str({ help: "The aud claim every token must carry. Empty: not checked.", default: "" }),
  algorithms: list({ help: "Signature algorithms accepted.", default: ["RS256", "ES256"] }),
  roles_claim: str({
    help: "The claim holding the caller's roles (a list, or a space separated string); a dotted path reaches into objects (realm_access.roles).",
    default: "roles",
  }),
  project_claim: str({ help: "The claim holding the caller's project (the scope it may read).", default: "project_id" }),
  user_claim: str({ help: "The claim naming the caller in the audit trail.", default: "sub" }),
  clock_skew: duration({ help: "Tolerance on exp and nbf for clocks that disagree.", default: 30, min: 0 }),
  jwks_cache_time: duration({ help: "How long fetched keys are used before the set is fetched again.", default: 600, min: 1 }),
};

/** Limits on what a caller may send; a value past one is refused with INVALID_ARGUMENT naming the field. */
export const limits = {
  max_decimal_digits: int({
    help: "Most digits an exact decimal (quantity, price, cost, level) may have before the point, and again after it; a longer one is refused before it is parsed. Storage keeps 40 exactly.",
    default: 40,
    min: 1,
    max: 40,
  }),
  max_id_length: int({ help: "Most characters of an id or a name (scope, mapping, rule, metric type, page token).", default: 255, min: 1 }),
  max_key_length: int({ help: "Most characters of a groupby or metadata key, and of a filter or group-by key.", default: 255, min: 1 }),
  max_value_length: int({ help: "Most characters of a groupby or metadata value, and of a filter value.", default: 1024, min: 1 }),
  max_text_length: int({
    help: "Most characters of free text: error messages, descriptions, reasons, price rule expressions.",
    default: 4096,
    min: 1,
  }),
  max_status_message: int({
    help: "Most characters of a status message sent back or logged: whatever it quotes of a request is cut there.",
    default: 1024,
    min: 64,
  }),
};

/** Connection limits of every gRPC server (in [server]). */
export const connectionLimits = {
  allow_insecure_bind: bool({
    help: "Let a server listen on an address other than the loopback without TLS (plaintext on the network: anyone who reaches the port is believed). Off: such a server refuses to start.",
    default: false,
  }),
  max_concurrent_streams: int({ help: "Calls in flight at once on one client connection.", default: 100, min: 1, max: 100000 }),
  keepalive_time: duration({ help: "Interval of the server's HTTP/2 pings on a connection, to find dead clients.", default: 300, min: 1 }),
  keepalive_timeout: duration({ help: "A ping unanswered this long closes the connection.", default: 20, min: 1 }),
  max_connection_idle: duration({ help: "A connection with no call for this long is closed (0: never).", default: 3600, min: 0 }),
  max_connection_age: duration({
    help: "A connection older than this is asked to go away (clients reconnect, which spreads them over replicas); 0: never.",
    default: 3600,
    min: 0,
  }),
  max_connection_age_grace: duration({
    help: "Calls in flight on a connection past max_connection_age get this long to end.",
    default: 600,
    min: 0,
  }),
};

/**
 * What a server adds to its own section: its certificate (served, and
 * presented as a client certificate on its own calls) and its message-size
 * limit.
 */
export function servedOptions(service: string) {
  return {
    tls_cert_file: str({
      help: `PEM certificate (chain) of the ${service} service: set with tls_key_file, it serves TLS, and presents it as its client certificate on its own calls.`,
    }),
    tls_key_file: str({ help: `PEM private key of [${service}] tls_cert_file.` }),
    max_message_size: bytes({
      help: `Largest message the ${service} service accepts or sends. Unset: [server] max_message_size.`,
      default: 0,
      min: 0,
    }),
  };
}

/** The trust sections of a deployment whose identity service is `idp`. */
export function trustSections<S extends string, N extends string>(idp: IdentityService<S, N>) {
  return { tls, auth: authOptions(idp), ...identitySection(idp), jwt, limits };
}

function identitySection<N extends string>(idp: IdentityService<string, N>): Record<N, IdentityTokenOptions> {
  return { [idp.section]: identityTokenOptions(idp) } as Record<N, IdentityTokenOptions>;
}

/** The sections every service's trust needs, whatever its identity service is called. */
export type BaseTrustSections = {
  tls: typeof tls;
  auth: ReturnType<typeof authOptions<string>>;
  jwt: typeof jwt;
  limits: typeof limits;
};

/** What the authenticator is built from: the trust options, and the identity service's with its names. */
export interface TrustValues {
  config: ConfigOf<BaseTrustSections>;
  idp: IdentityService;
  identity: IdentityTokenValues;
}

/** The trust values of a configuration read with trustSections(idp). */
export function trustValues<N extends string>(
  c: ConfigOf<BaseTrustSections> & { readonly [K in N]: IdentityTokenValues },
  idp: IdentityService<string, N>,
): TrustValues {
  return { config: c, idp, identity: c[idp.section] as IdentityTokenValues };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Checks of the shared trust options, for every service. */
export function checkTrust(t: TrustValues, report: Reporter): void {
  const c = t.config;
  if (c.tls.client_auth === "require" && c.tls.ca_file === undefined) {
    report("tls", "client_auth", "require needs [tls] ca_file: client certificates are verified against it");
  }
  if (c.auth.auth_strategy === t.idp.strategy) {
    for (const o of ["auth_url", "username", "password"] as const) {
      if (t.identity[o] === "") report(t.idp.section, o, `is required when [auth] auth_strategy = ${t.idp.strategy}`);
    }
  }
  if (c.auth.auth_strategy === "jwt" && (c.jwt.jwks_url === "") === (c.jwt.keys_file === "")) {
    report("jwt", "jwks_url", "give exactly one of [jwt] jwks_url and keys_file when [auth] auth_strategy = jwt");
  }
}

/** Checks a server's own TLS options and refuses plaintext on a non-loopback address unless allowed. */
export function checkServed<N extends string>(
  section: N,
  values: { listen: HostPort; tls_cert_file: string | undefined; tls_key_file: string | undefined },
  allowInsecure: boolean,
  report: (section: N, option: string, message: string) => void,
): void {
  if ((values.tls_cert_file === undefined) !== (values.tls_key_file === undefined)) {
    report(section, values.tls_cert_file === undefined ? "tls_cert_file" : "tls_key_file", "tls_cert_file and tls_key_file go together");
  }
  if (values.tls_cert_file === undefined && !allowInsecure && !isLoopback(values.listen.host)) {
    report(
      section,
      "listen",
      `${showHostPort(values.listen)} is not a loopback address and the server has no TLS: set [${section}] tls_cert_file and tls_key_file, or [server] allow_insecure_bind = true to serve plaintext on the network`,
    );
  }
}
