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
  | "unimplemented";

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
    super(`${what} ${JSON.stringify(id)} not found`);
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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
