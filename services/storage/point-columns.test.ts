/**
 * listPointColumns (StreamPointColumns) on each engine: the same points, in
 * the same order, as listPoints, with every exact decimal intact (trailing
 * zeros, negatives, more than 18 decimals, integers beyond 2^53), across
 * pages and scopes, filters applied, and each groupset's JSON sent only
 * while the reader does not know it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamPointColumnsRequest, type StreamPointColumnsResponse } from "../../libs/gen/ratemesh/v1/storage.js";
import { streamPointColumns } from "./api/point-columns.js";
import { storageHandlers } from "./api/storage-service.js";
import type { PeriodPoint, PointFilter, StorageEngine } from "./domain.js";
import { commitInput, type EngineCase, PERIOD, point, postgresCase, sqliteCase, T0 } from "./testkit.js";

const FAR = { begin: new Date("2000-01-01T00:00:00Z"), end: new Date("2100-01-01T00:00:00Z") };

async function allPoints(engine: StorageEngine, filters: PointFilter[]): Promise<PeriodPoint[]> {
  const out: PeriodPoint[] = [];
  let after: Awaited<ReturnType<StorageEngine["listPoints"]>>["next"];
  do {
    const page = await engine.listPoints({ ...FAR, filters, limit: 5, after });
    out.push(...page.points);
    after = page.next;
  } while (after !== undefined);
  return out;
}

/** Every point read as columns, pages of `limit`, made whole again as listPoints gives them. */
async function allColumns(engine: StorageEngine, filters: PointFilter[], limit: number) {
  const known = new Map<number, string>();
  const points: Array<Omit<PeriodPoint, "end">> = [];
  let after: Awaited<ReturnType<StorageEngine["listPointColumns"]>>["next"];
  let canonsSent = 0;
  do {
    const page = await engine.listPointColumns({ ...FAR, filters, limit, after, knownGroupsets: known });
    for (const [ref, canon] of page.groupsets) {
      assert.ok(!known.has(ref), `groupset ${ref} sent twice`);
      known.set(ref, canon);
      canonsSent++;
    }
    assert.ok(page.qty.length <= limit);
    for (let i = 0; i < page.qty.length; i++) {
      const metadata = page.metadata[i] as string;
      points.push({
        scopeId: page.scopes.get(page.scopeRef[i] as number) ?? "?",
        begin: new Date((page.begin[i] as number) * 1000),
        type: page.types.get(page.typeRef[i] as number) ?? "?",
        unit: page.unit[i] as string,
        qty: page.qty[i] as string,
        price: page.price[i] as string,
        groupby: JSON.parse(known.get(page.groupsetRef[i] as number) ?? "null") as Record<string, string>,
        metadata: metadata === "" ? {} : (JSON.parse(metadata) as Record<string, string>),
      });
    }
    after = page.next;
  } while (after !== undefined);
  return { points, canonsSent };
}

const DECIMALS = ["1.50", "-2.25", "0", "0.000000000000000000001", "123456789012345678", "-0.100", "7", "3.000000001000000001"];

function suite(c: EngineCase): void {
  describe(`point columns on ${c.name}`, () => {
    it("gives listPoints' points, order and exact decimals, page after page, filters applied", async (t) => {
      const { engine } = await c.open(t);
      for (const [s, scope] of ["acme", "beta"].entries()) {
        for (let n = 0; n < 3; n++) {
          const points = DECIMALS.map((d, i) =>
            point(
              i % 2 === 0 ? "instance" : "volume",
              d,
              DECIMALS[(i + n + s) % DECIMALS.length] as string,
              { id: `r${i % 3}` },
              i % 4 === 0 ? { flavor: "m1" } : {},
            ),
          );
          await engine.commitPeriod(commitInput(scope, n, points, n === 0 ? { expected: null } : {}));
        }
      }
      const whole = (p: PeriodPoint) => ({ ...p, end: undefined });
      for (const filters of [
        [],
        [{ key: "type", values: ["volume"] }],
        [{ key: "scope_id", values: ["beta"] }],
        [{ key: "id", values: ["r1"] }],
      ]) {
        const expected = (await allPoints(engine, filters)).map(whole);
        assert.ok(expected.length > 0);
        for (const limit of [1, 7, 1000]) {
          const { points, canonsSent } = await allColumns(engine, filters, limit);
          assert.deepEqual(
            points.map((p) => ({ ...p, end: undefined })),
            expected,
            `filters ${JSON.stringify(filters)}, pages of ${limit}`,
          );
          assert.equal(canonsSent, new Set(expected.map((p) => JSON.stringify(p.groupby))).size, "each groupset's JSON once");
        }
      }
      // The decimals exactly as stored, trailing zeros dropped.
      const first = (await allColumns(engine, [{ key: "scope_id", values: ["acme"] }], 100)).points.slice(0, DECIMALS.length);
      assert.deepEqual(
        first.map((p) => p.qty),
        ["1.5", "-2.25", "0", "0.000000000000000000001", "123456789012345678", "-0.1", "7", "3.000000001000000001"],
      );
    });

    it("StreamPointColumns sends each dictionary entry once over the stream, the frames as columns", async (t) => {
      const { engine } = await c.open(t);
      const points = Array.from({ length: 3 }, (_, i) => point("instance", String(i + 1), "0.5", { id: `vm-${i}` }, { flavor: "m1" }));
      for (let n = 0; n < 2; n++) await engine.commitPeriod(commitInput("acme", n, points, n === 0 ? { expected: null } : {}));
      const handlers = storageHandlers({
        engine,
        logger: undefined as never,
        clock: { now: () => new Date() },
        periodSeconds: PERIOD,
        waitPeriods: 0,
        clockSkewTolerance: 0,
      });
      const sent: StreamPointColumnsResponse[] = [];
      const ctx = { signal: new AbortController().signal } as never;
      await handlers.streamPointColumns?.(StreamPointColumnsRequest.fromPartial(FAR), ctx, async (m) => {
        sent.push(m);
      });
      const frames = sent.flatMap((m) => m.frames);
      assert.deepEqual(
        frames.map((f) => [f.scopeId, f.begin?.toISOString(), f.end?.toISOString(), f.qty, f.price, f.types, f.groupbys, f.metadata]),
        [0, 1].map((n) => [
          "acme",
          new Date(T0.getTime() + n * PERIOD * 1000).toISOString(),
          new Date(T0.getTime() + (n + 1) * PERIOD * 1000).toISOString(),
          ["1", "2", "3"],
          ["0.5", "0.5", "0.5"],
          [0, 0, 0],
          [0, 1, 2],
          [0, 0, 0],
        ]),
      );
      assert.deepEqual(
        sent.flatMap((m) => m.newGroupbys),
        ['{"id":"vm-0"}', '{"id":"vm-1"}', '{"id":"vm-2"}'],
      );
      assert.deepEqual(
        sent.flatMap((m) => m.newMetadata),
        ['{"flavor":"m1"}'],
      );
      assert.deepEqual(
        sent.flatMap((m) => m.newTypes),
        ["instance"],
      );
    });

    it("dictionaries start again past their bound, and the stream still reads the same points", async (t) => {
      const { engine } = await c.open(t);
      for (let n = 0; n < 3; n++) {
        const points = Array.from({ length: 4 }, (_, i) => point(`t${i % 2}`, `${n}.${i}`, "1", { id: `r${i}` }, { m: `${n}-${i % 3}` }));
        await engine.commitPeriod(commitInput("acme", n, points, n === 0 ? { expected: null } : {}));
      }
      const expected = (await allPoints(engine, [])).map((p) => [p.type, p.qty, p.groupby, p.metadata]);
      const got: unknown[] = [];
      let resets = 0;
      const dict = { types: [] as string[], groupbys: [] as string[], metadata: [] as string[] };
      await streamPointColumns(
        engine,
        PERIOD,
        { ...FAR, filters: [] },
        new AbortController().signal,
        async (m) => {
          if (m.dictionariesReset) {
            resets++;
            dict.types = [];
            dict.groupbys = [];
            dict.metadata = [];
          }
          dict.types.push(...m.newTypes);
          dict.groupbys.push(...m.newGroupbys);
          dict.metadata.push(...m.newMetadata);
          for (const f of m.frames) {
            for (const [i, q] of f.qty.entries()) {
              got.push([
                dict.types[f.types[i] as number],
                q,
                JSON.parse(dict.groupbys[f.groupbys[i] as number] as string),
                JSON.parse(dict.metadata[f.metadata[i] as number] as string),
              ]);
            }
          }
        },
        { page: 3, maxDictionary: 4 },
      );
      assert.ok(resets >= 2, `the dictionaries started again ${resets} times`);
      assert.deepEqual(got, expected);
    });
  });
}

suite(sqliteCase);
suite(postgresCase);
