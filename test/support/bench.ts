/**
 * Lets benchmarks reuse the test harness (which registers its cleanups on a
 * node:test context) outside of the test runner.
 */
import type { TestContext } from "node:test";

export interface BenchContext {
  t: TestContext;
  /** Runs every registered cleanup, last registered first. */
  close(): Promise<void>;
}

export function benchContext(): BenchContext {
  const cleanups: Array<() => unknown> = [];
  const t = {
    after: (fn: () => unknown) => {
      cleanups.push(fn);
    },
    diagnostic: (msg: string) => process.stdout.write(`  ${msg}\n`),
  } as unknown as TestContext;
  return {
    t,
    close: async () => {
      for (const fn of cleanups.reverse()) await fn();
    },
  };
}
