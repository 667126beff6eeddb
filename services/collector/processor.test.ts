/**
 * The processor on its injected clock, with in-process stand-ins for the
 * source, rating and storage: it rates exactly the periods that are
 * finished by that clock, and the next one once the clock moves past it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sleep } from "../../libs/async/limit.js";
import { MemoryCoordinator } from "../../libs/coordination/memory.js";
import type { DataFrame } from "../../libs/gen/ratemesh/v1/common.js";
import { silentLogger } from "../../libs/logging/logger.js";
import { Decimal } from "../../libs/money/decimal.js";
import type { Collector } from "./collectors/collector.js";
import { SourceFetcher } from "./fetchers/source.js";
import { parseMetrics } from "./metrics.js";
import { Processor, type ProcessorDeps } from "./processor.js";
import { ManualClock } from "./testkit.js";

const metrics = parseMetrics("metrics:\n  cpu:\n    unit: instance\n", "metrics.yml", {
  scopeKey: "project_id",
  extraArgs: (args) => ({ args, groupbyExtra: [] }),
});

/** One instance running in every period. */
const collector: Collector = {
  name: "fake",
  collect: async () => [{ value: Decimal.ONE, groupby: {}, metadata: {} }],
  describe: () => [],
  close: async () => {},
};

/** Storage that keeps each scope's state and refuses a commit expecting another one, as the real one does. */
function fakeStorage() {
  const states = new Map<string, Date>();
  const committed: string[] = [];
  const storage = {
    commitPeriod: async (req: { frame?: DataFrame; expectedState?: Date }) => {
      const frame = req.frame as DataFrame;
      assert.equal(req.expectedState?.getTime(), states.get(frame.scopeId)?.getTime(), "commit fenced on the state");
      states.set(frame.scopeId, frame.end as Date);
      committed.push(`${frame.scopeId} ${frame.begin?.toISOString()} ${frame.points.length}`);
      return { replayed: false };
    },
    // The month-to-date read before rating (nothing tiered here: no quantities).
    summary: async () => ({ columns: ["begin", "end", "qty", "price", "type"], rows: [], nextPageToken: "", totalRows: "0" }),
  };
  const scopes = {
    getScope: async (req: { scopeId: string }) => ({ scope: { scopeId: req.scopeId, state: states.get(req.scopeId), active: true } }),
    listScopes: async () => ({ scopes: [], nextPageToken: "" }),
    recordScopeError: async () => ({}),
    // A scope first seen gets its start as its state, as storage does.
    updateScope: async (req: { scopeId: string; start?: Date }) => {
      if (req.start !== undefined && !states.has(req.scopeId)) states.set(req.scopeId, req.start);
      return {};
    },
  };
  const reprocess = { listTasks: async () => ({ tasks: [], nextPageToken: "" }) };
  const rating = { rate: async (req: { frames: DataFrame[] }) => ({ frames: req.frames }) };
  return { states, committed, deps: { storage, scopes, reprocess, rating } };
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await sleep(10);
  assert.ok(done(), what);
}

describe("processor clock", () => {
  it("rates the periods finished by the injected clock, and the next one when the clock passes its end", async (t) => {
    // 05:30 with wait_periods = 1: [00:00, 05:00) may be rated (04:00 + 1 h < 05:30), [05:00, 06:00) not yet.
    const clock = new ManualClock(Date.parse("2026-01-01T05:30:00Z"));
    const store = fakeStorage();
    const processor = new Processor(
      {
        periodSeconds: 3600,
        waitPeriods: 1,
        start: new Date("2026-01-01T00:00:00Z"),
        end: undefined,
        maxWorkers: 2,
        maxThreads: 2,
        batchPeriods: 2,
        batchScopes: 1,
        scopeKey: "project_id",
        collectorName: "fake",
        fetcherName: "source",
        tickSeconds: 0.01,
        scopeRefreshSeconds: 60,
        collectTimeoutSeconds: 5,
      },
      {
        fetcher: new SourceFetcher(["p1"]),
        collector,
        metrics,
        coordinator: new MemoryCoordinator(),
        clock,
        logger: silentLogger(),
        ...store.deps,
      } as unknown as ProcessorDeps,
    );
    processor.start();
    t.after(() => processor.stop(1));

    await until("rated up to 05:00", () => store.states.get("p1")?.toISOString() === "2026-01-01T05:00:00.000Z");
    await sleep(100);
    assert.deepEqual(store.committed, [
      "p1 2026-01-01T00:00:00.000Z 1",
      "p1 2026-01-01T01:00:00.000Z 1",
      "p1 2026-01-01T02:00:00.000Z 1",
      "p1 2026-01-01T03:00:00.000Z 1",
      "p1 2026-01-01T04:00:00.000Z 1",
    ]);
    assert.equal(processor.status()[0]?.periodsBehind, 0);

    // 06:00 exactly: 05:00 + 1 h < 06:00 does not hold yet; just after, [05:00, 06:00) has waited its period.
    clock.t = Date.parse("2026-01-01T06:00:00Z");
    await sleep(100);
    assert.equal(store.committed.length, 5);
    clock.t += 1000;
    await until("rated up to 06:00", () => store.states.get("p1")?.toISOString() === "2026-01-01T06:00:00.000Z");
    await sleep(100);
    assert.equal(store.committed.length, 6);
    assert.equal(store.committed[5], "p1 2026-01-01T05:00:00.000Z 1");
  });
});
