/**
 * Runs oracle.py (CloudKitty's algorithm on Python's decimal module) on a
 * price list and points, for the differential tests.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RatingPoint } from "../../../domain.js";
import type { HashmapData } from "../model.js";

const SCRIPT = fileURLToPath(new URL("../../../../../../services/rating/modules/hashmap/testdata/oracle.py", import.meta.url));

/** Debian's interpreter: the one on PATH may be another build. */
export const PYTHON = "/usr/bin/python3";

export interface OracleCase {
  tenant: string;
  at: number;
  point: RatingPoint;
}

export function runOracle(data: HashmapData, cases: OracleCase[]): string[] {
  const r = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify({ data, cases }), encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`oracle.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}
