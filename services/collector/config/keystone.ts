import type { CheckContext } from "../../../libs/config/config.js";
import { bool, duration, int, oneOf, retired, sectionRef, str, tolerated } from "../../../libs/config/options.js";
import type { KeystonePasswordAuth } from "../sources/keystone.js";
import type { sections as collectSections } from "./collect.js";
import { retryOptions } from "./retries.js";

/**
 * Keystone password authentication options, with keystoneauth's names as
 * CloudKitty reads them in [collector_gnocchi], [fetcher_gnocchi] and
 * [fetcher_keystone]: set in the section itself, or in the section its
 * `auth_section` names (CloudKitty's usual `[ks_auth]`). Only the password
 * plugin is supported; a token must be scoped to a project.
 */

/** The plugin options `auth_section` lends from the section it names (keystoneauth's password plugin's). */
const PLUGIN_OPTIONS = [
  "auth_type",
  "auth_url",
  "username",
  "user_id",
  "password",
  "user_domain_name",
  "user_domain_id",
  "project_name",
  "project_id",
  "project_domain_name",
  "project_domain_id",
  "default_domain_id",
  "default_domain_name",
  "domain_id",
  "domain_name",
  "system_scope",
  "trust_id",
] as const;

const notProjectScoped = (what: string) =>
  retired({
    help: `${what} is not supported: ratemesh needs a token scoped to a project (set project_name and project_domain_name, or project_id)`,
  });

export function keystoneAuthOptions() {
  return {
    auth_type: oneOf({
      help: "keystone: the keystoneauth plugin; only the password plugin is supported.",
      choices: ["password", "v3password"],
      default: "password",
    }),
    auth_section: sectionRef({
      help: "keystone: the section the password plugin's options are read from (CloudKitty's auth_section, e.g. ks_auth), instead of this one.",
      takes: PLUGIN_OPTIONS,
    }),
    auth_url: str({ help: "keystone: the identity URL, e.g. http://keystone:5000/v3 (/v3 is added when missing)." }),
    username: str({ help: "keystone: the user name (or set user_id)." }),
    user_id: str({ help: "keystone: the user id (instead of username)." }),
    password: str({ help: "keystone: the user's password.", secret: true }),
    user_domain_name: str({ help: "keystone: the domain of username (or set user_domain_id)." }),
    user_domain_id: str({ help: "keystone: the domain id of username." }),
    project_name: str({ help: "keystone: the project the token is scoped to (or set project_id)." }),
    project_id: str({ help: "keystone: the id of the project the token is scoped to." }),
    project_domain_name: str({ help: "keystone: the domain of project_name (or set project_domain_id)." }),
    project_domain_id: str({ help: "keystone: the domain id of project_name." }),
    default_domain_id: str({ help: "keystone: the domain id of username and project_name when their own is not set." }),
    default_domain_name: str({ help: "keystone: the domain of username and project_name when their own is not set." }),
    domain_id: notProjectScoped("A domain-scoped token"),
    domain_name: notProjectScoped("A domain-scoped token"),
    system_scope: notProjectScoped("A system-scoped token"),
    trust_id: notProjectScoped("A trust-scoped token"),
    collect_timing: tolerated({ help: "keystoneauth's request timing; the source requests are timed in the metrics" }),
    split_loggers: tolerated({ help: "keystoneauth's log split; ratemesh logs JSON lines" }),
  };
}

/** HTTP to a source: connections, timeouts, retries and TLS files, each section its own pool. */
export function httpOptions(origin: string, what: "request" | "query") {
  return {
    http_pool_maxsize: int({
      help: `Most HTTP connections open at once to each ${origin} origin; requests beyond it wait for a free connection. Connections are kept alive and reused.`,
      default: 10,
      min: 1,
      max: 1000,
    }),
    timeout: duration({
      help: "Timeout of each HTTP request (one attempt), from sending it to the end of the answer.",
      default: 60,
      min: 0.1,
    }),
    ...retryOptions(what),
    cafile: str({ help: "PEM file of the CA certificates that sign the server's certificate (https)." }),
    certfile: str({ help: "PEM client certificate (https with client authentication)." }),
    keyfile: str({ help: "PEM key of certfile." }),
    insecure: bool({ help: "https: do not verify the server's certificate.", default: false }),
  };
}

type AuthValues = {
  readonly [K in keyof ReturnType<typeof keystoneAuthOptions>]: ReturnType<typeof keystoneAuthOptions>[K]["default"] | undefined;
};

/** Checks the password plugin's options of a section; `why` says what makes them needed ("with …"). */
export function checkKeystoneAuth<N extends string>(
  section: N,
  c: AuthValues,
  why: string,
  report: (section: N, option: string, message: string) => void,
): void {
  if (!c.auth_url) report(section, "auth_url", `a value is required ${why}`);
  else if (!/^https?:\/\/[^/\s]+/.test(c.auth_url))
    report(section, "auth_url", `${JSON.stringify(c.auth_url)} is not an http:// or https:// URL`);
  if (!c.username && !c.user_id) report(section, "username", `a value (or user_id) is required ${why}`);
  if (c.username && !c.user_id && !c.user_domain_name && !c.user_domain_id && !c.default_domain_name && !c.default_domain_id) {
    report(section, "user_domain_name", "a value (or user_domain_id, or default_domain_name) is required with username");
  }
  if (!c.password) report(section, "password", `a value is required ${why}`);
  if (!c.project_name && !c.project_id) {
    report(section, "project_name", `a value (or project_id) is required ${why}: the token must be scoped to a project`);
  }
  if (c.project_name && !c.project_id && !c.project_domain_name && !c.project_domain_id && !c.default_domain_name && !c.default_domain_id) {
    report(section, "project_domain_name", "a value (or project_domain_id, or default_domain_name) is required with project_name");
  }
}

/** The password plugin's credentials of a section, the default domain standing in for missing user and project domains. */
export function passwordAuth(c: AuthValues): KeystonePasswordAuth {
  const defaults = c.default_domain_id || c.default_domain_name ? { id: c.default_domain_id, name: c.default_domain_name } : undefined;
  const domain = (id: string | undefined, name: string | undefined) =>
    id || name
      ? { id: id || undefined, name: id ? undefined : name }
      : { id: defaults?.id || undefined, name: defaults?.id ? undefined : defaults?.name };
  const user = domain(c.user_domain_id, c.user_domain_name);
  const project = domain(c.project_domain_id, c.project_domain_name);
  return {
    authUrl: c.auth_url ?? "",
    username: c.username,
    userId: c.user_id,
    password: c.password ?? "",
    userDomainName: user.name,
    userDomainId: user.id,
    projectName: c.project_name,
    projectId: c.project_id,
    projectDomainName: project.name,
    projectDomainId: project.id,
  };
}

/** CloudKitty's [fetcher_keystone]: which projects are scopes, and the fetcher's Keystone connection. */
const fetcher_keystone = {
  keystone_version: str({
    help: "The identity API version, as CloudKitty's option: 3 (the only one Keystone still serves).",
    default: "3",
    refusals: Object.fromEntries(
      ["2", "2.0", "v2", "v2.0"].map((v) => [
        v,
        "Keystone's v2 API is gone: use keystone_version = 3 (the fetcher lists projects through the v3 API)",
      ]),
    ),
  }),
  ignore_rating_role: bool({
    help: "Rate every project, not only those on which the fetcher's user holds the rating role.",
    default: false,
  }),
  ignore_disabled_tenants: bool({ help: "Leave disabled projects out.", default: false }),
  ...httpOptions("Keystone", "request"),
  ...keystoneAuthOptions(),
};

export const sections = { fetcher_keystone };

/** Checks [fetcher_keystone] when it is the fetcher. */
export function checks({ config: c, report }: CheckContext<typeof sections & Pick<typeof collectSections, "fetcher">>): void {
  if (c.fetcher.backend !== "keystone") return;
  const f = c.fetcher_keystone;
  if (!/^v?3(\.\d+)?$/.test(f.keystone_version)) {
    report(
      "fetcher_keystone",
      "keystone_version",
      `${JSON.stringify(f.keystone_version)} is not a Keystone API version ratemesh speaks: use 3`,
    );
  }
  checkKeystoneAuth("fetcher_keystone", f, "with [fetcher] backend = keystone", report);
  if ((f.certfile ?? "") !== "" && (f.keyfile ?? "") === "") report("fetcher_keystone", "keyfile", "a value is required with certfile");
}
