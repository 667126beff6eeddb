/** StorageService/ListAdjustments: the signed adjustment lines of re-rated periods (engine/adjustments.ts). */
import type { AdjustmentLine as AdjustmentLineMessage, StorageServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Handlers } from "../../../libs/grpc/server.js";
import { decodePageToken, pageSize } from "../../../libs/validation/fields.js";
import type { AdjustmentLine } from "../domain.js";
import { trimmed } from "../engine/exact.js";
import { pageOf, rangeOrCurrentMonth, type StorageApiDeps } from "./requests.js";

function isCursor(v: unknown): v is { a: number; k: number; t: number; g: number } {
  const c = v as Record<string, unknown>;
  return [c.a, c.k, c.t, c.g].every((n) => Number.isSafeInteger(n));
}

/** The line as it is stored, with its amounts as exact text and its tags (none: ""). */
function toLine(l: AdjustmentLine): AdjustmentLineMessage {
  const { cursor: _, ...line } = l;
  return {
    ...line,
    qty: trimmed(l.qty).toString(),
    price: trimmed(l.price).toString(),
    points: String(l.points),
    taskId: l.taskId ?? "",
    resetId: l.resetId ?? "",
  };
}

export function adjustmentHandlers(deps: StorageApiDeps): Pick<Handlers<typeof StorageServiceService>, "listAdjustments"> {
  const { engine, clock } = deps;
  return {
    async listAdjustments(req) {
      const { begin, end } = rangeOrCurrentMonth(req.begin, req.end, clock.now());
      const limit = pageSize(req.pageSize, "page_size", 100, 10000);
      const token = decodePageToken(req.pageToken, "page_token", isCursor);
      const lines = await engine.listAdjustments({
        begin,
        end,
        scopeIds: req.scopeIds,
        types: req.types,
        taskId: req.taskId === "" ? undefined : req.taskId,
        limit: limit + 1,
        after: token === undefined ? undefined : { adjustment: token.a, kind: token.k, typeRef: token.t, groupsetRef: token.g },
      });
      const { page, nextPageToken } = pageOf(lines, limit, (last) => ({
        a: last.cursor.adjustment,
        k: last.cursor.kind,
        t: last.cursor.typeRef,
        g: last.cursor.groupsetRef,
      }));
      return { lines: page.map(toLine), nextPageToken };
    },
  };
}
