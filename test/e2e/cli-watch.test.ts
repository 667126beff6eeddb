/**
 * `ratemesh status --watch` against a stand-in CollectorService whose
 * backlog the test scripts, so that the progress arithmetic is checked on
 * known figures (the real collector of cli-collector.test.ts catches up too
 * fast to show any), and Ctrl-C ends the watch cleanly.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it, type TestContext } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { CollectorServiceService, type GetStatusResponse } from "../../libs/gen/ratemesh/v1/collector.js";
import { CLI_MAIN, runCli } from "../support/cli.js";

function status(behind: Record<string, number>, busy = false): GetStatusResponse {
  return {
    memberId: "m-1",
    coordination: "memory",
    leaseHeld: true,
    members: [{ memberId: "m-1", description: "stand-in", joinedAt: new Date("2026-11-01T00:00:00Z") }],
    scopes: Object.entries(behind).map(([scopeId, n]) => ({
      scopeId,
      state: new Date("2026-11-01T00:00:00Z"),
      periodsBehind: String(n),
      fencingToken: "1",
      unpricedPoints: "0",
      unpriced: false,
      lastError: "",
      lastErrorAt: undefined,
      busy,
      reprocessTaskId: "",
    })),
    fencingEpoch: "0",
    collector: "file",
    fetcher: "source",
    scopesDiscovered: String(Object.keys(behind).length),
  };
}

/** A collector that answers GetStatus with the next scripted status each time (the last one forever). */
async function standIn(t: TestContext, script: GetStatusResponse[]): Promise<string> {
  let call = 0;
  const server = new grpc.Server();
  server.addService(CollectorServiceService, {
    getStatus: (_call: unknown, cb: grpc.sendUnaryData<GetStatusResponse>) => {
      cb(null, script[Math.min(call++, script.length - 1)] as GetStatusResponse);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

const LINE = /^\S+Z {2}catch-up: (\d+)\/(\d+) periods done, (\d+) to go, [\d.]+\/s, ETA \S+$/;

describe("ratemesh status --watch", () => {
  it("counts the periods done from each scope's shrinking backlog; periods falling due raise the total", async (t) => {
    const address = await standIn(t, [
      status({ a: 6, b: 4 }),
      status({ a: 3, b: 4 }, true),
      status({ a: 3, b: 5 }, true), // a new period fell due for b
      status({ a: 0, b: 1 }, true),
      status({ a: 0, b: 0 }, true), // caught up, but still committing
      status({ a: 0, b: 0 }),
    ]);
    const r = await runCli(["status", "--watch", "--interval", "0.05", "--collector", address]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    const figures = lines.slice(0, -1).map((l) => {
      const m = LINE.exec(l);
      assert.ok(m !== null, l);
      return `${m[1]}/${m[2]}`;
    });
    assert.deepEqual(figures, ["0/10", "3/10", "3/11", "10/11", "11/11", "11/11"]);
    assert.match(lines.at(-1) ?? "", /^catch-up: 11 periods in \d+s$/);
  });

  it("ends cleanly on Ctrl-C while periods are still behind", async (t) => {
    const address = await standIn(t, [status({ a: 50 }, true)]);
    const child = spawn(process.execPath, [CLI_MAIN, "status", "--watch", "--interval", "0.2", "--collector", address], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let interrupted = false;
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      if (!interrupted && stdout.includes("to go")) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    assert.equal(code, 0);
    assert.match(stdout, /catch-up: 0\/50 periods done, 50 to go/);
    assert.match(stdout, /\ncatch-up: 0 periods in \d+s\n$/);
  });
});
