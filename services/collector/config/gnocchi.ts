import type { CheckContext, Reporter } from "../../../libs/config/config.js";
import { list, oneOf, str } from "../../../libs/config/options.js";
import type { sections as collectSections } from "./collect.js";
import { checkKeystoneAuth, httpOptions, keystoneAuthOptions } from "./keystone.js";

/**
 * The Gnocchi collector and fetcher: CloudKitty's [collector_gnocchi] and
 * [fetcher_gnocchi], with the same option names. Each section has its own
 * connection (and its own HTTP pool): the fetcher's scope listing never
 * waits behind the collector's requests. Keystone password options use
 * keystoneauth's names, set in the section or in the one its
 * `auth_section` names (config/keystone.ts).
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
    ...httpOptions("Gnocchi (or Keystone)", "request"),
    ...keystoneAuthOptions(),
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
  if (c.gnocchi_endpoint && !/^https?:\/\/[^/\s]+/.test(c.gnocchi_endpoint)) {
    report(section, "gnocchi_endpoint", `${JSON.stringify(c.gnocchi_endpoint)} is not an http:// or https:// URL`);
  }
  if (c.gnocchi_auth_type === "basic") {
    if (!c.gnocchi_endpoint) report(section, "gnocchi_endpoint", `a value is required with gnocchi_auth_type = basic (${why})`);
    if (!c.gnocchi_user)
      report(section, "gnocchi_user", `a value is required with gnocchi_auth_type = basic (${why}; Gnocchi refuses an empty user)`);
  } else {
    checkKeystoneAuth(section, c, `with gnocchi_auth_type = keystone (${why})`, report);
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
