/**
 * Keystone password authentication as the openstack CLI does it: a v3
 * token scoped to a project, from --os-auth-url, --os-username,
 * --os-password, --os-project-name and the domains (or their OS_*
 * variables). The token is asked for once per command; its catalog is kept
 * for commands that look an endpoint up in it.
 */
import { CliError } from "./errors.js";

export interface PasswordAuth {
  authUrl: string;
  username: string;
  password: string;
  userDomainName: string;
  projectName: string;
  projectDomainName: string;
}

export interface CatalogEntry {
  type?: string;
  endpoints?: Array<{ interface?: string; url?: string }>;
}

export interface KeystoneToken {
  token: string;
  catalog: CatalogEntry[];
}

/** The identity URL's token endpoint: …/v3/auth/tokens, with or without /v3 given. */
function tokensUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, "");
  return /\/v3$/.test(base) ? `${base}/auth/tokens` : `${base}/v3/auth/tokens`;
}

export async function passwordToken(a: PasswordAuth): Promise<KeystoneToken> {
  const url = tokensUrl(a.authUrl);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ["password"],
            password: { user: { name: a.username, domain: { name: a.userDomainName }, password: a.password } },
          },
          scope: { project: { name: a.projectName, domain: { name: a.projectDomainName } } },
        },
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError("unavailable", `Keystone at ${url} cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  const token = res.headers.get("x-subject-token");
  if (res.status === 401) {
    throw new CliError(
      "auth",
      `Keystone refused ${a.username} on project ${a.projectName} (HTTP 401): check the user, password, project and domains`,
    );
  }
  if (res.status !== 201 || token === null) {
    throw new CliError("auth", `Keystone POST ${url} answered ${res.status}: ${text.slice(0, 300).replace(/\s+/g, " ")}`);
  }
  let catalog: CatalogEntry[] = [];
  try {
    catalog = (JSON.parse(text) as { token?: { catalog?: CatalogEntry[] } }).token?.catalog ?? [];
  } catch {
    // A token without a readable body still authenticates; only catalog lookups need it.
  }
  return { token, catalog };
}

/** The URL of the catalog's service of `type` on `iface` (public, internal, admin; publicURL is accepted). */
export function catalogEndpoint(catalog: CatalogEntry[], type: string, iface: string): string | undefined {
  const wanted = iface.replace(/URL$/, "");
  return catalog.find((s) => s.type === type)?.endpoints?.find((e) => e.interface === wanted)?.url;
}

/** Password options as given (flags or OS_* variables); undefined when no user is given. */
export interface PasswordOptions {
  osAuthUrl?: string;
  osUsername?: string;
  osPassword?: string;
  osProjectName?: string;
  osUserDomainName?: string;
  osProjectDomainName?: string;
}

export function passwordAuthFrom(o: PasswordOptions): PasswordAuth | undefined {
  if (o.osUsername === undefined || o.osUsername === "") return undefined;
  const missing = [
    ["--os-auth-url (OS_AUTH_URL)", o.osAuthUrl],
    ["--os-password (OS_PASSWORD)", o.osPassword],
    ["--os-project-name (OS_PROJECT_NAME)", o.osProjectName],
  ]
    .filter(([, v]) => v === undefined || v === "")
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new CliError("usage", `Keystone password authentication for ${o.osUsername} also needs ${missing.join(", ")}`);
  }
  return {
    authUrl: o.osAuthUrl as string,
    username: o.osUsername,
    password: o.osPassword as string,
    projectName: o.osProjectName as string,
    userDomainName: o.osUserDomainName || "Default",
    projectDomainName: o.osProjectDomainName || "Default",
  };
}
