import type { CheckContext, Reporter } from "../../../libs/config/config.js";
import { bool, duration, int, list, oneOf, str } from "../../../libs/config/options.js";
import type { sections as collectSections } from "./collect.js";
import { retryOptions } from "./retries.js";

/**
 * The Gnocchi collector and fetcher: CloudKitty's [collector_gnocchi] and
 * [fetcher_gnocchi], with the same option names. Each section has its own
 * connection (and its own HTTP pool): the fetcher's scope listing never
 * waits behind the collector's requests. Keystone password options use
 * keystoneauth's names, set directly in the section (CloudKitty also reads
 * them through `auth_section`, which ratemesh does not support).
 */

const INTERFACES = ["internal", "internalURL", "public", "publicURL", "admin", "adminURL"] as const;

function connection(what: string) {
  return {
    gnocchi_auth_type: oneOf({
      help: `How ${what} authenticates to Gnocchi: keystone (a Keystone v3 password token, endpoint from the catalog) or basic (Gnocchi's basic auth mode: a user name, no password).`,
      choices: ["keystone", "basic"],
      default: "keystone",
    }),
    gnocchi_user: str({ help: "basic: the user name sent to Gnocchi (admin sees every project).", default: "" }),
    gnocchi_endpoint: str({
      help: "basic: Gnocchi's URL, e.g. http://gnocchi:8041. keystone: when set, used instead of the catalog's endpoint.",
      default: "",
    }),
    interface: oneOf({
      help: "keystone: which catalog endpoint of the metric service to use.",
      choices: INTERFACES,
      default: "internalURL",
    }),
    region_name: str({ help: "keystone: the region of the catalog endpoint.", default: "RegionOne" }),
    http_pool_maxsize: int({
      help: "Most HTTP connections open at once to each Gnocchi (or Keystone) origin; requests beyond it wait for a free connection. Connections are kept alive and reused.",
      default: 10,
      min: 1,
      max: 1000,
    }),
    timeout: duration({
      help: "Timeout of each HTTP request (one attempt), from sending it to the end of the answer.",
      default: 60,
      min: 0.1,
    }),
    ...retryOptions("request"),
    cafile: str({ help: "PEM file of the CA certificates that sign the server's certificate (https)." }),
    certfile: str({ help: "PEM client certificate (https with client authentication)." }),
    keyfile: str({ help: "PEM key of certfile." }),
    insecure: bool({ help: "https: do not verify the server's certificate.", default: false }),
    auth_type: oneOf({
      help: "keystone: the keystoneauth plugin; only the password plugin is supported.",
      choices: ["password", "v3password"],
      default: "password",
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
  };
}

const collector_gnocchi = connection("the collector");

const fetcher_gnocchi = {
  scope_attribute: str({ help: "The resource attribute whose distinct values are the scopes to rate.", default: "project_id" }),
  resource_types: list({ help: "The resource types whose resources are scanned for scopes.", default: ["generic"] }),
  ...connection("the fetcher"),
};

/** The options of [collect] and [fetcher] that choose whether these sections are used. */
type Selectors = Pick<typeof collectSections, "collect" | "fetcher">;

export const sections = { collector_gnocchi, fetcher_gnocchi };

type ConnectionValues = { readonly [K in keyof ReturnType<typeof connection>]: ReturnType<typeof connection>[K]["default"] | undefined };

/** Checks a Gnocchi connection section: what its auth type needs. */
function checkConnection(section: "collector_gnocchi" | "fetcher_gnocchi", c: ConnectionValues, report: Reporter<typeof sections>): void {
  const why = section === "collector_gnocchi" ? "[collect] collector = gnocchi" : "[fetcher] backend = gnocchi";
  const url = (option: string, value: string | undefined) => {
    if (value === undefined || value === "") return;
    if (!/^https?:\/\/[^/\s]+/.test(value)) report(section, option, `${JSON.stringify(value)} is not an http:// or https:// URL`);
  };
  url("gnocchi_endpoint", c.gnocchi_endpoint);
  if (c.gnocchi_auth_type === "basic") {
    if (!c.gnocchi_endpoint) report(section, "gnocchi_endpoint", `a value is required with gnocchi_auth_type = basic (${why})`);
    if (!c.gnocchi_user)
      report(section, "gnocchi_user", `a value is required with gnocchi_auth_type = basic (${why}; Gnocchi refuses an empty user)`);
  } else {
    if (!c.auth_url) report(section, "auth_url", `a value is required with gnocchi_auth_type = keystone (${why})`);
    url("auth_url", c.auth_url);
    if (!c.username && !c.user_id)
      report(section, "username", `a value (or user_id) is required with gnocchi_auth_type = keystone (${why})`);
    if (c.username && !c.user_id && !c.user_domain_name && !c.user_domain_id) {
      report(section, "user_domain_name", "a value (or user_domain_id) is required with username");
    }
    if (!c.password) report(section, "password", `a value is required with gnocchi_auth_type = keystone (${why})`);
    if (!c.project_name && !c.project_id) {
      report(
        section,
        "project_name",
        `a value (or project_id) is required with gnocchi_auth_type = keystone (${why}): the token must be scoped to a project`,
      );
    }
    if (c.project_name && !c.project_id && !c.project_domain_name && !c.project_domain_id) {
      report(section, "project_domain_name", "a value (or project_domain_id) is required with project_name");
    }
  }
  if ((c.certfile ?? "") !== "" && (c.keyfile ?? "") === "") report(section, "keyfile", "a value is required with certfile");
}

export function checks({ config: c, report }: CheckContext<typeof sections & Selectors>): void {
  if (c.collect.collector === "gnocchi") checkConnection("collector_gnocchi", c.collector_gnocchi, report);
  if (c.fetcher.backend === "gnocchi") {
    checkConnection("fetcher_gnocchi", c.fetcher_gnocchi, report);
    if (c.fetcher_gnocchi.resource_types.length === 0)
      report("fetcher_gnocchi", "resource_types", "at least one resource type is required");
    if (c.fetcher_gnocchi.scope_attribute === "") report("fetcher_gnocchi", "scope_attribute", "a value is required");
  }
}
