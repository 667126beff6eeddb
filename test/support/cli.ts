/**
 * Runs the compiled `ratemesh` CLI (dist/cli/main.js) as a child process,
 * as an operator would, with an environment free of the caller's RATEMESH_*
 * and OS_* variables so that only what a test gives counts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./mesh.js";

export const CLI_MAIN = join(REPO_ROOT, "dist/cli/main.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("RATEMESH_") && !k.startsWith("OS_")) env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      env: { ...env, ...opts.env },
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment that points the CLI at a mesh's services. */
export function meshEnv(addresses: { storage?: string; rating?: string; collector?: string }): Record<string, string> {
  const env: Record<string, string> = {};
  if (addresses.storage !== undefined) env.RATEMESH_STORAGE_ENDPOINT = addresses.storage;
  if (addresses.rating !== undefined) env.RATEMESH_RATING_ENDPOINT = addresses.rating;
  if (addresses.collector !== undefined) env.RATEMESH_COLLECTOR_ENDPOINT = addresses.collector;
  return env;
}

/** The CLI pointed at a mesh's storage and rating: `cli` runs a command, `ok` one that must succeed (its stdout). */
export function cliOn(addresses: { storage?: string; rating?: string; collector?: string }) {
  const env = meshEnv(addresses);
  const cli = (...args: string[]) => runCli(args, { env });
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `ratemesh ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  return { env, cli, ok };
}
