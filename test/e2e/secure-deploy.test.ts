/**
 * deploy/secure as an operator runs it (its README): make-certs.sh makes
 * the PKI, the four services start from ratemesh.conf, the collector rates
 * the demo usage as the service identity over mTLS, mint-token.sh's tokens
 * are accepted, and a reader of one project sees only that project through
 * the CLI and through the REST gateway over HTTPS.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Agent, request } from "undici";
import { ScopeServiceService } from "../../libs/gen/ratemesh/v1/storage.js";
import { runCli } from "../support/cli.js";
import { eventually, REPO_ROOT, startService, tempDir } from "../support/mesh.js";
import { serviceEntry } from "../support/service-process.js";
import { MAKE_CERTS, MINT_TOKEN, secureConnect } from "../support/trust.js";

const SECURE = join(REPO_ROOT, "deploy/secure");
const END = new Date("2026-11-04T00:00:00Z");

describe("the secured example (deploy/secure)", () => {
  it("runs from its README: TLS and mTLS everywhere, JWTs, a reader confined to its project", async (t) => {
    const dir = tempDir(t);
    execFileSync("sh", [MAKE_CERTS, "pki"], { cwd: dir, stdio: "pipe", timeout: 60_000 });
    copyFileSync(join(SECURE, "ratemesh.conf"), join(dir, "ratemesh.conf"));
    const pki = join(dir, "pki");
    const config = join(dir, "ratemesh.conf");
    // As in the README, run from the example's directory; only the ports (free ones) and the demo's files (absolute) differ.
    const env = {
      RATEMESH_COLLECT__METRICS_CONF: join(REPO_ROOT, "deploy/local/metrics.yml"),
      RATEMESH_COLLECTOR_FILE__PATH: join(REPO_ROOT, "deploy/local/usage.jsonl"),
      RATEMESH_STORAGE__LISTEN: "127.0.0.1:0",
      RATEMESH_RATING__LISTEN: "127.0.0.1:0",
      RATEMESH_COLLECTOR__LISTEN: "127.0.0.1:0",
      RATEMESH_API__LISTEN: "127.0.0.1:0",
    };
    for (const service of ["storage", "rating", "collector", "api"]) {
      const check = spawnSync(process.execPath, [serviceEntry(service as "storage"), "--config", config, "--check-config"], {
        cwd: dir,
        env: { ...process.env, ...env },
        encoding: "utf8",
      });
      assert.equal(check.status, 0, check.stderr);
    }
    const [storage, rating] = await Promise.all([
      startService(t, { service: "storage", configFile: config, cwd: dir, env }),
      startService(t, { service: "rating", configFile: config, cwd: dir, env }),
    ]);
    const endpoints = { ...env, RATEMESH_STORAGE__ENDPOINT: storage.address, RATEMESH_RATING__ENDPOINT: rating.address };
    const collector = await startService(t, { service: "collector", configFile: config, cwd: dir, env: endpoints });
    const api = await startService(t, {
      service: "api",
      configFile: config,
      cwd: dir,
      env: { ...endpoints, RATEMESH_COLLECTOR__ENDPOINT: collector.address },
    });
    assert.equal(storage.logs().find((l) => l.msg === "listening")?.tls, true);

    const mint = (user: string, project: string, roles: string) =>
      execFileSync("sh", [MINT_TOKEN, join(pki, "jwt-signing.key"), user, project, roles], { encoding: "utf8" }).trim();
    const admin = mint("operator", "", "admin");
    const reader = mint("alice", "acme-prod", "reader");

    const scopes = secureConnect(t, storage.address, pki, { cert: "operator", token: admin }).client(ScopeServiceService);
    const list = { scopeIds: [], scopeKey: "", fetcher: "", collector: "", pageSize: 0, pageToken: "" };
    await eventually(
      async () => {
        const res = await scopes.listScopes(list);
        return res.scopes.length === 3 && res.scopes.every((s) => s.state?.getTime() === END.getTime());
      },
      90_000,
      "the demo's three projects rated by the collector over mTLS",
    );

    const cliArgs = [
      "--storage",
      storage.address,
      "--os-cacert",
      join(pki, "ca.crt"),
      "--os-cert",
      join(pki, "operator.crt"),
      "--os-key",
      join(pki, "operator.key"),
    ];
    const mine = await runCli([
      ...cliArgs,
      "--os-token",
      reader,
      "summary",
      "--begin",
      "2026-11-01",
      "--end",
      "2026-11-04",
      "--group-by",
      "scope_id",
      "--format",
      "json",
    ]);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /acme-prod/);
    assert.doesNotMatch(mine.stdout, /globex-dev|initech-qa/);
    const noCert = await runCli(["--storage", storage.address, "--os-cacert", join(pki, "ca.crt"), "--os-token", admin, "scopes", "list"]);
    assert.notEqual(noCert.code, 0, "without a client certificate the CLI cannot connect");

    const https = new Agent({ connect: { ca: readFileSync(join(pki, "ca.crt")) } });
    t.after(() => https.close());
    const url = `https://${api.address}/v2/summary?groupby=scope_id&begin=2026-11-01T00:00:00&end=2026-11-04T00:00:00`;
    const anonymous = await request(url, { dispatcher: https });
    assert.equal(anonymous.statusCode, 401);
    await anonymous.body.dump();
    const asReader = await request(url, { dispatcher: https, headers: { "x-auth-token": reader } });
    const body = (await asReader.body.json()) as { results: unknown[][]; columns: string[] };
    assert.equal(asReader.statusCode, 200);
    const scopeColumn = body.columns.indexOf("scope_id");
    assert.deepEqual([...new Set(body.results.map((r) => r[scopeColumn]))], ["acme-prod"]);
  });
});
