/**
 * The one mapping between ratemesh's typed errors and gRPC status codes, in
 * both directions.
 */
import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { type ErrorKind, RatemeshError } from "../errors/errors.js";

const CODE_OF_KIND: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  failed_precondition: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  unimplemented: status.UNIMPLEMENTED,
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
};

/** The longest status message sent or logged: whatever a handler says, user input never travels back whole. */
export const MAX_DETAILS = 1024;

function bounded(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

export function codeName(code: status): string {
  return status[code] ?? String(code);
}

/** An error answered by another service. */
export class RemoteCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: status,
    readonly details: string,
  ) {
    super(`${method}: ${codeName(code)}: ${details}`);
    this.name = "RemoteCallError";
  }

  /** Worth trying again later: the other side was down or slow. */
  get transient(): boolean {
    return this.code === status.UNAVAILABLE || this.code === status.DEADLINE_EXCEEDED || this.code === status.RESOURCE_EXHAUSTED;
  }
}

export interface MappedError {
  code: status;
  details: string;
  /** Not the caller's fault: log the cause with the id given in details. */
  internal: boolean;
}

/** What a server answers for an error thrown by a handler. */
export function toStatus(err: unknown, maxDetails = MAX_DETAILS): MappedError {
  if (err instanceof RatemeshError) {
    return { code: CODE_OF_KIND[err.kind], details: bounded(err.message, maxDetails), internal: false };
  }
  if (err instanceof RemoteCallError && err.transient) {
    return { code: status.UNAVAILABLE, details: bounded(`a dependency is unavailable: ${err.message}`, maxDetails), internal: false };
  }
  const id = randomUUID().slice(0, 8);
  return { code: status.INTERNAL, details: `internal error (id ${id}); the service log has the cause`, internal: true };
}

export function isCode(err: unknown, code: status): err is RemoteCallError {
  return err instanceof RemoteCallError && err.code === code;
}
