/**
 * Harness for a secured mesh: the certificates of deploy/secure/make-certs.sh
 * (the script an operator runs), the config sections that turn on TLS and
 * mTLS, and clients that present a certificate and a token.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Connection } from "../../libs/grpc/client.js";
import type { KeystoneServer } from "./keystone.js";
import { CLIENT_OPTIONS, type IniSections, REPO_ROOT } from "./mesh.js";

export const MAKE_CERTS = join(REPO_ROOT, "deploy/secure/make-certs.sh");
export const MINT_TOKEN = join(REPO_ROOT, "deploy/secure/mint-token.sh");

/** Runs deploy/secure/make-certs.sh into dir/pki; returns that directory. */
export function makePki(dir: string): string {
  const pki = join(dir, "pki");
  execFileSync("sh", [MAKE_CERTS, pki], { stdio: "pipe", timeout: 60_000 });
  return pki;
}

/** TLS on every service with its own certificate, client certificates required, checked against the mesh CA. */
export function tlsSections(pki: string, clientAuth = "require"): IniSections {
  const served = (name: string) => ({
    tls_cert_file: join(pki, `ratemesh-${name}.crt`),
    tls_key_file: join(pki, `ratemesh-${name}.key`),
  });
  return {
    tls: { ca_file: join(pki, "ca.crt"), client_auth: clientAuth },
    storage: served("storage"),
    rating: served("rating"),
    collector: served("collector"),
    api: served("api"),
  };
}

/** Merges config sections, option by option (later ones win). */
export function mergeSections(...parts: IniSections[]): IniSections {
  const out: IniSections = {};
  for (const part of parts) for (const [name, options] of Object.entries(part)) out[name] = { ...out[name], ...options };
  return out;
}

/** A connection presenting the certificate `certName` of pki (none: no client certificate) and, if given, a token. */
export function secureConnect(
  t: TestContext,
  address: string,
  pki: string,
  o: { cert?: string | undefined; token?: string | undefined; retries?: number } = {},
): Connection {
  const read = (f: string) => readFileSync(join(pki, f));
  const credentials =
    o.cert === undefined
      ? grpc.credentials.createSsl(read("ca.crt"))
      : grpc.credentials.createSsl(read("ca.crt"), read(`${o.cert}.key`), read(`${o.cert}.crt`));
  const conn = new Connection(address, {
    ...CLIENT_OPTIONS,
    retries: o.retries ?? 0,
    credentials,
    ...(o.token === undefined ? {} : { metadata: { "x-auth-token": o.token } }),
  });
  t.after(() => conn.close());
  return conn;
}

/** A user of a real Keystone with a role on a project, and a project-scoped token of theirs. */
export async function keystoneUser(
  ks: KeystoneServer,
  o: { name: string; project: string; role: string },
): Promise<{ userId: string; token: string; password: string }> {
  const auth = { "x-auth-token": await ks.adminToken() };
  const password = `pw-${o.name}`;
  const user = (await ks.api("POST", "/v3/users", { user: { name: o.name, password, domain_id: "default" } }, [201], auth)).body as {
    user: { id: string };
  };
  const roles = (await ks.api("GET", `/v3/roles?name=${o.role}`, undefined, [200], auth)).body as { roles: Array<{ id: string }> };
  const roleId = roles.roles[0]?.id;
  if (roleId === undefined) throw new Error(`Keystone has no role ${o.role}`);
  await ks.api("PUT", `/v3/projects/${o.project}/users/${user.user.id}/roles/${roleId}`, undefined, [204], auth);
  const res = await ks.api("POST", "/v3/auth/tokens", {
    auth: {
      identity: { methods: ["password"], password: { user: { id: user.user.id, password } } },
      scope: { project: { id: o.project } },
    },
  });
  return { userId: user.user.id, token: String(res.headers["x-subject-token"] ?? ""), password };
}

/** A project of a real Keystone; returns its id. */
export async function keystoneProject(ks: KeystoneServer, name: string): Promise<string> {
  const auth = { "x-auth-token": await ks.adminToken() };
  const res = (await ks.api("POST", "/v3/projects", { project: { name, domain_id: "default" } }, [201], auth)).body as {
    project: { id: string };
  };
  return res.project.id;
}
