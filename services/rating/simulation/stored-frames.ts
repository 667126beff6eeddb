/**
 * Where a simulation reads the stored points: storage's StreamDataFrames,
 * called with the caller's own token, so that storage applies its own
 * policy too (a project-scoped caller reads only its project's points,
 * whatever rating's policy let through). Read-only: nothing else of
 * storage is called.
 */
import { status } from "@grpc/grpc-js";
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from "../../../libs/errors/errors.js";
import type { DataFrame, Filter } from "../../../libs/gen/ratemesh/v1/common.js";
import type { StorageServiceService } from "../../../libs/gen/ratemesh/v1/storage.js";
import type { Client } from "../../../libs/grpc/client.js";
import { RemoteCallError } from "../../../libs/grpc/status.js";

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

export interface StoredFrames {
  read(q: StoredFramesQuery, call: StoredFramesCall): AsyncIterable<DataFrame>;
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
      const stream = storage.streamDataFrames(
        { begin: q.begin, end: q.end, filters: q.filters },
        {
          ...(call.token === undefined ? {} : { metadata: { "x-auth-token": call.token } }),
          ...(call.signal === undefined ? {} : { signal: call.signal }),
          ...(call.deadlineSeconds === undefined ? {} : { deadlineSeconds: call.deadlineSeconds }),
        },
      );
      try {
        for await (const m of stream) if (m.frame !== undefined) yield m.frame;
      } catch (err) {
        throw asOwnError(err);
      }
    },
  };
}
