/**
 * Where a simulation reads the stored points: storage's StreamPointColumns
 * (the points of StreamDataFrames as columns, each groupby map and
 * metadata sent and parsed once per stream), called with the caller's own
 * token, so that storage applies its own
 * policy too (a project-scoped caller reads only its project's points,
 * whatever rating's policy let through). Read-only: nothing else of
 * storage is called.
 */
import { status } from "@grpc/grpc-js";
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from "../../../libs/errors/errors.js";
import type { Filter } from "../../../libs/gen/ratemesh/v1/common.js";
import type { StorageServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Client } from "../../../libs/grpc/client.js";
import { RemoteCallError } from "../../../libs/grpc/status.js";
import type { RatingPoint } from "../domain.js";

export interface StoredFramesQuery {
  begin: Date;
  end: Date;
  filters: Filter[];
}

export interface StoredFramesCall {
  /** The caller's token, passed on. */
  token?: string | undefined;
  signal?: AbortSignal;
  deadlineSeconds?: number;
}

/**
 * A stored frame (or a part of a large one) ready to be priced again: its
 * points as the collector sends them (price "0"; the pipeline adds to the
 * price a point arrives with), and what each was billed.
 */
export interface StoredFrame {
  scopeId: string;
  begin: Date;
  end: Date;
  points: RatingPoint[];
  billed: string[];
}

export interface StoredFrames {
  read(q: StoredFramesQuery, call: StoredFramesCall): AsyncIterable<StoredFrame>;
}

/** Storage's refusal of the request, as this service's own error (the field names are the request's). */
function asOwnError(err: unknown): unknown {
  if (!(err instanceof RemoteCallError)) return err;
  switch (err.code) {
    case status.INVALID_ARGUMENT: {
      const at = err.details.indexOf(": ");
      return at < 0
        ? new InvalidArgumentError("filters", err.details)
        : new InvalidArgumentError(err.details.slice(0, at), err.details.slice(at + 2));
    }
    case status.PERMISSION_DENIED:
      return new PermissionDeniedError(`storage refused to read the stored points: ${err.details}`);
    case status.UNAUTHENTICATED:
      return new UnauthenticatedError(`storage refused to read the stored points: ${err.details}`);
    default:
      return err;
  }
}

export function storageFrames(storage: Client<typeof StorageServiceService>): StoredFrames {
  return {
    async *read(q, call) {
      const stream = storage.streamPointColumns(
        { begin: q.begin, end: q.end, filters: q.filters },
        {
          ...(call.token === undefined ? {} : { metadata: { "x-auth-token": call.token } }),
          ...(call.signal === undefined ? {} : { signal: call.signal }),
          ...(call.deadlineSeconds === undefined ? {} : { deadlineSeconds: call.deadlineSeconds }),
        },
      );
      // The stream's dictionaries: a map is parsed once, and its points share it (the pipeline never changes them).
      const types: string[] = [];
      const units: string[] = [];
      const groupbys: Array<Record<string, string>> = [];
      const metadata: Array<Record<string, string>> = [];
      const parse = (json: string): Record<string, string> => (json === "" ? {} : (JSON.parse(json) as Record<string, string>));
      try {
        for await (const m of stream) {
          if (m.dictionariesReset) for (const d of [types, units, groupbys, metadata]) d.length = 0;
          types.push(...m.newTypes);
          units.push(...m.newUnits);
          for (const g of m.newGroupbys) groupbys.push(parse(g));
          for (const md of m.newMetadata) metadata.push(parse(md));
          for (const c of m.frames) {
            if (c.begin === undefined || c.end === undefined) continue;
            const n = c.qty.length;
            const points: RatingPoint[] = new Array(n);
            for (let i = 0; i < n; i++) {
              points[i] = {
                type: types[c.types[i] as number] ?? "",
                unit: units[c.units[i] as number] ?? "",
                qty: c.qty[i] as string,
                price: "0",
                groupby: groupbys[c.groupbys[i] as number] ?? {},
                metadata: metadata[c.metadata[i] as number] ?? {},
              };
            }
            yield { scopeId: c.scopeId, begin: c.begin, end: c.end, points, billed: c.price };
          }
        }
      } catch (err) {
        throw asOwnError(err);
      }
    },
  };
}
