/**
 * Debian's python-cloudkittyclient (the `cloudkitty` command and its Python
 * API) pointed at a gateway, without Keystone (the cloudkitty-noauth auth
 * plugin), or through Keystone as an operator's openrc does it (the
 * password plugin, the gateway found in the token's catalog). The script's shebang is /usr/bin/python3, which has Debian's
 * modules; a `python3` earlier on PATH may not.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

export const CLOUDKITTY = "/usr/bin/cloudkitty";
export const SYSTEM_PYTHON = "/usr/bin/python3";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cloudkittyClientInstalled(): boolean {
  return existsSync(CLOUDKITTY) && existsSync(SYSTEM_PYTHON);
}

function run(file: string, args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** An openrc's variables: a Keystone user on a project; the gateway is the catalog's rating endpoint on `interface`. */
export interface OpenRc {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  interface: "public" | "internal";
}

export class CloudKittyCli {
  constructor(
    readonly endpoint: string,
    private readonly keystone?: OpenRc,
  ) {}

  private env(): Record<string, string> {
    const base = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8" };
    const k = this.keystone;
    if (k === undefined) return { ...base, OS_AUTH_TYPE: "cloudkitty-noauth", OS_ENDPOINT: this.endpoint };
    return {
      ...base,
      OS_AUTH_TYPE: "password",
      OS_AUTH_URL: k.authUrl,
      OS_USERNAME: k.username,
      OS_PASSWORD: k.password,
      OS_PROJECT_NAME: k.projectName,
      OS_USER_DOMAIN_NAME: "Default",
      OS_PROJECT_DOMAIN_NAME: "Default",
      OS_IDENTITY_API_VERSION: "3",
      OS_INTERFACE: k.interface,
    };
  }

  /** `cloudkitty [--os-rating-api-version V] args…`. */
  run(args: string[], version: 1 | 2 = 1): Promise<CliResult> {
    return run(CLOUDKITTY, ["--os-rating-api-version", String(version), ...args], this.env());
  }

  /** The same, with `-f json`; fails the test if the command fails. */
  async json<T = Array<Record<string, unknown>>>(args: string[], version: 1 | 2 = 1): Promise<T> {
    const r = await this.run([...args, "-f", "json"], version);
    if (r.code !== 0) throw new Error(`cloudkitty ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  }

  /** A command that must succeed; its stdout. */
  async ok(args: string[], version: 1 | 2 = 1): Promise<string> {
    const r = await this.run(args, version);
    if (r.code !== 0) throw new Error(`cloudkitty ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /**
   * Python through the client library (for what has no command, such as a
   * quote): `client` is a v1 (or v2) Client bound to the gateway; the script
   * prints its answer as JSON.
   */
  python(script: string, version: 1 | 2 = 1): Promise<CliResult> {
    const prelude = [
      "import json",
      "from keystoneauth1 import session",
      "from cloudkittyclient import client as ck",
      "from cloudkittyclient.auth import CloudKittyNoAuthPlugin",
      `client = ck.Client("${version}", session=session.Session(auth=CloudKittyNoAuthPlugin(endpoint=${JSON.stringify(this.endpoint)})), adapter_options={"service_type": "rating"})`,
      "",
    ].join("\n");
    return run(SYSTEM_PYTHON, ["-"], this.env(), prelude + script);
  }
}
