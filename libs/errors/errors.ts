/**
 * The closed set of typed errors domain code throws. The gRPC server wrapper
 * maps them to status codes in one place (libs/grpc/status.ts); anything else
 * becomes INTERNAL with the cause logged and never sent.
 */

export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "unavailable"
  | "deadline_exceeded"
  | "unimplemented"
  | "unauthenticated"
  | "permission_denied";

export abstract class RatemeshError extends Error {
  abstract readonly kind: ErrorKind;
}

/** Bad input. The message always starts with the offending field's name. */
export class InvalidArgumentError extends RatemeshError {
  readonly kind = "invalid_argument";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "InvalidArgumentError";
  }
}

export class NotFoundError extends RatemeshError {
  readonly kind = "not_found";
  constructor(what: string, id: string) {
    super(`${what} ${quoted(id)} not found`);
    this.name = "NotFoundError";
  }
}

export class AlreadyExistsError extends RatemeshError {
  readonly kind = "already_exists";
  constructor(message: string) {
    super(message);
    this.name = "AlreadyExistsError";
  }
}

/** A state conflict: a stale fencing token, a state that moved, a scope that is off. */
export class FailedPreconditionError extends RatemeshError {
  readonly kind = "failed_precondition";
  constructor(message: string) {
    super(message);
    this.name = "FailedPreconditionError";
  }
}

/** A dependency is down; the caller may retry. */
export class UnavailableError extends RatemeshError {
  readonly kind = "unavailable";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnavailableError";
  }
}

export class DeadlineExceededError extends RatemeshError {
  readonly kind = "deadline_exceeded";
  constructor(message: string) {
    super(message);
    this.name = "DeadlineExceededError";
  }
}

export class UnimplementedError extends RatemeshError {
  readonly kind = "unimplemented";
  constructor(message: string) {
    super(message);
    this.name = "UnimplementedError";
  }
}

/** No valid credentials: no token, a token that is not (or no longer) valid. */
export class UnauthenticatedError extends RatemeshError {
  readonly kind = "unauthenticated";
  constructor(message: string) {
    super(message);
    this.name = "UnauthenticatedError";
  }
}

/**
 * The caller is known but not allowed. The message names the method and
 * what it lacks (a role), never what exists.
 */
export class PermissionDeniedError extends RatemeshError {
  readonly kind = "permission_denied";
  constructor(message: string) {
    super(message);
    this.name = "PermissionDeniedError";
  }
}

/**
 * User input as it may appear in a message: quoted, and cut to `max`
 * characters so that a huge value never travels back in a status or a log
 * line.
 */
export function quoted(value: string, max = 64): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
