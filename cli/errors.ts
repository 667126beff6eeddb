/**
 * What can go wrong in a command, as one closed set of kinds, each with its
 * own exit status, and the one-line message a person reads. gRPC status
 * codes from the services map onto the same kinds, so a script can tell "no
 * such scope" from "storage is down" by the exit status alone.
 */
import { status } from "@grpc/grpc-js";
import { codeName } from "../libs/grpc/status.js";

export const EXIT = {
  ok: 0,
  generic: 1,
  usage: 2,
  not_found: 3,
  invalid_argument: 4,
  conflict: 5,
  unavailable: 6,
  auth: 7,
} as const;

export type ErrorKind = keyof typeof EXIT;

/** The table in every help text and in cli/README.md. */
export const EXIT_CODES_HELP = `Exit status:
  0  ok
  1  any other error (a service's internal error)
  2  usage: unknown command or option, missing argument, unreadable --config file
  3  not found (NOT_FOUND)
  4  invalid argument: a bad option value or a request the service refused as invalid (INVALID_ARGUMENT)
  5  conflict: a state that does not allow it, or something that already exists (FAILED_PRECONDITION, ALREADY_EXISTS)
  6  unavailable: a service cannot be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED)
  7  permission: the caller is not authenticated or not allowed (UNAUTHENTICATED, PERMISSION_DENIED)`;

/** A failure found by the CLI itself (a bad option value, a file that does not parse). */
export class CliError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A call a service answered with an error status, or a service that could not be reached. */
export class ServiceCallError extends Error {
  constructor(
    /** storage, rating or collector. */
    readonly service: string,
    readonly address: string,
    readonly method: string,
    readonly code: status,
    readonly details: string,
  ) {
    super(`${method}: ${codeName(code)}: ${details}`);
    this.name = "ServiceCallError";
  }

  get kind(): ErrorKind {
    return kindOfCode(this.code);
  }
}

/** The kind of a gRPC status code, grouped as the exit status table groups them; any other code is generic. */
const CODES_OF_KIND: ReadonlyArray<readonly [ErrorKind, readonly status[]]> = [
  ["not_found", [status.NOT_FOUND]],
  ["invalid_argument", [status.INVALID_ARGUMENT, status.OUT_OF_RANGE]],
  ["conflict", [status.FAILED_PRECONDITION, status.ALREADY_EXISTS, status.ABORTED]],
  ["unavailable", [status.UNAVAILABLE, status.DEADLINE_EXCEEDED]],
  ["auth", [status.UNAUTHENTICATED, status.PERMISSION_DENIED]],
];

export function kindOfCode(code: status): ErrorKind {
  return CODES_OF_KIND.find(([, codes]) => codes.includes(code))?.[0] ?? "generic";
}

const ENV_OF_SERVICE: Record<string, string> = {
  storage: "--storage or RATEMESH_STORAGE_ENDPOINT",
  rating: "--rating or RATEMESH_RATING_ENDPOINT",
  collector: "--collector or RATEMESH_COLLECTOR_ENDPOINT",
};

/** Newlines and runs of spaces folded, so that every error is one line. */
function oneLine(text: string): string {
  return text
    .replace(/\s*Resolution note:\s*$/, "")
    .replace(/\s*\n\s*/g, "; ")
    .replace(/\s{2,}/g, " ")
    .trim();
}

/** The exit status and the single line printed for any error a command throws. */
export function describeError(err: unknown): { exit: number; line: string } {
  if (err instanceof CliError) return { exit: EXIT[err.kind], line: oneLine(err.message) };
  if (err instanceof ServiceCallError) {
    const where = `${err.service} at ${err.address}`;
    const details = oneLine(err.details);
    if (err.code === status.UNAVAILABLE) {
      return {
        exit: EXIT.unavailable,
        line: `cannot reach ${where}: ${details} (set the address with ${ENV_OF_SERVICE[err.service] ?? "--config"})`,
      };
    }
    if (err.code === status.DEADLINE_EXCEEDED) {
      return { exit: EXIT.unavailable, line: `${where} did not answer in time (${err.method}): ${details}; see --timeout` };
    }
    return { exit: EXIT[err.kind], line: `${details} (${codeName(err.code)} from ${err.service})` };
  }
  if (err instanceof Error) return { exit: EXIT.generic, line: oneLine(err.message) };
  return { exit: EXIT.generic, line: oneLine(String(err)) };
}
