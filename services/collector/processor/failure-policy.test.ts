/** Backoff after a failure is counted on the injected clock: it ends when the clock says so. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Coordinator, Ownership } from "../../../libs/coordination/coordinator.js";
import { silentLogger } from "../../../libs/logging/logger.js";
import { ManualClock } from "../testkit.js";
import { type FailureDeps, FailurePolicy } from "./failure-policy.js";
import { ProgressBoard } from "./progress.js";

const T = Date.parse("2026-03-15T10:00:00Z");

function setup() {
  const clock = new ManualClock(T);
  const stepBacks: { scopeId: string; until: Date }[] = [];
  const recorded: string[] = [];
  const deps = {
    clock,
    logger: silentLogger(),
    coordinator: {
      stepBack: async (scopeId: string, until: Date) => {
        stepBacks.push({ scopeId, until });
      },
    } as unknown as Coordinator,
    scopes: {
      recordScopeError: async (req: { scopeId: string; message: string }) => {
        recorded.push(`${req.scopeId}: ${req.message}`);
        return {};
      },
    },
  } as unknown as FailureDeps;
  const board = new ProgressBoard();
  const ownership: Ownership = { scopeId: "p1", epoch: 1n, token: 7n, signal: new AbortController().signal };
  return { clock, stepBacks, recorded, board, ownership, policy: new FailurePolicy(deps, board) };
}

describe("failure policy", () => {
  it("backs off 1 s, then 2 s, then steps back until the clock's now + 4 s, and records each failure", async () => {
    const { clock, stepBacks, recorded, board, ownership, policy } = setup();
    policy.fail([ownership], new Error("source down"), new Date(T - 3_600_000));
    assert.equal(board.of("p1").lastError, "source down");
    assert.equal(board.of("p1").lastErrorAt?.getTime(), T);
    assert.equal(policy.waiting("p1"), true);
    clock.t = T + 999;
    assert.equal(policy.waiting("p1"), true);
    clock.t = T + 1000;
    assert.equal(policy.waiting("p1"), false, "the backoff ends at the clock's now + 1 s");

    policy.fail([ownership], new Error("source down"), undefined);
    clock.t += 1999;
    assert.equal(policy.waiting("p1"), true);
    clock.t += 1;
    assert.equal(policy.waiting("p1"), false, "the second backoff lasts 2 s");
    assert.deepEqual(stepBacks, []);

    const third = clock.t;
    policy.fail([ownership], new Error("source down"), undefined);
    assert.deepEqual(stepBacks, [{ scopeId: "p1", until: new Date(third + 4000) }]);
    await Promise.resolve();
    assert.deepEqual(recorded, ["p1: source down", "p1: source down", "p1: source down"]);

    // A committed period clears it all.
    policy.succeeded("p1");
    assert.equal(policy.waiting("p1"), false);
    assert.equal(board.of("p1").lastError, undefined);
  });

  it("waits 1 s on the clock after a refused commit, doubling while refusals go on, without counting a failure", () => {
    const { clock, stepBacks, ownership, policy, board } = setup();
    policy.refused("p1", new Error("fencing token 1 is older than 2"));
    assert.equal(board.of("p1").lastError, "commit refused: fencing token 1 is older than 2");
    clock.t = T + 999;
    assert.equal(policy.waiting("p1"), true);
    clock.t = T + 1000;
    assert.equal(policy.waiting("p1"), false);
    policy.refused("p1", new Error("again"));
    clock.t = T + 2999;
    assert.equal(policy.waiting("p1"), true);
    clock.t = T + 3000;
    assert.equal(policy.waiting("p1"), false);
    policy.fail([ownership], new Error("x"), undefined);
    policy.fail([ownership], new Error("x"), undefined);
    assert.deepEqual(stepBacks, [], "two failures after a refusal: no step back yet");
  });
});
