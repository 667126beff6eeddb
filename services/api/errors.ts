/**
 * The one place where an error becomes an HTTP answer: gRPC status codes
 * from the services mapped to CloudKitty's HTTP codes, and CloudKitty's
 * error bodies (v1, pecan/WSME: {"faultcode", "faultstring", "debuginfo"};
 * v2 and the root, Flask: {"message"}). python-cloudkittyclient prints the
 * body of an error as it is, so these shapes are what operators see.
 */
import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { codeName, RemoteCallError } from "../../libs/grpc/status.js";

/** An answer the gateway itself gives (CloudKitty's own 400s and 404s), with CloudKitty's message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
export const notFound = (message: string) => new ApiError(404, message);

/**
 * gRPC codes → HTTP status, grouped as the README's table groups them.
 * CloudKitty answers 400 both for bad input and for a request the current
 * state refuses (a rule already running, a reprocessing window past the
 * scope's state), so FAILED_PRECONDITION is 400.
 */
const HTTP_OF_GRPC_CODES: ReadonlyArray<readonly [number, readonly status[]]> = [
  [400, [status.INVALID_ARGUMENT, status.FAILED_PRECONDITION, status.OUT_OF_RANGE]],
  [404, [status.NOT_FOUND]],
  [409, [status.ALREADY_EXISTS, status.ABORTED]],
  [401, [status.UNAUTHENTICATED]],
  [403, [status.PERMISSION_DENIED]],
  [429, [status.RESOURCE_EXHAUSTED]],
  [501, [status.UNIMPLEMENTED]],
  [503, [status.UNAVAILABLE]],
  [504, [status.DEADLINE_EXCEEDED]],
  [499, [status.CANCELLED]],
];
const HTTP_OF_GRPC = new Map(HTTP_OF_GRPC_CODES.flatMap(([http, codes]) => codes.map((code) => [code, http] as const)));

export interface HttpFailure {
  statusCode: number;
  message: string;
  /** Not the caller's fault: the cause is logged under this id, never sent. */
  errorId?: string;
  grpcCode?: string;
}

interface FastifyLikeError {
  statusCode?: number;
  message?: string;
  code?: string;
}

/** The parts of a JSON schema validation error the gateway words its message from. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * A request that fails its JSON schema, worded as WSME words it (the
 * message names the attribute): "Invalid input for field/attribute cost.
 * Value: 'None'. Mandatory field missing."
 */
export function schemaFailure(errors: SchemaError[], where: string): ApiError {
  const e = errors[0];
  if (e === undefined) return badRequest(`Invalid ${where}`);
  const path = e.instancePath.replace(/^\//, "").replaceAll("/", ".");
  if (e.keyword === "required") {
    const missing = String(e.params.missingProperty ?? "");
    const field = path === "" ? missing : `${path}.${missing}`;
    return badRequest(`Invalid input for field/attribute ${field}. Value: 'None'. Mandatory field missing.`);
  }
  const field = path === "" ? where : path;
  const allowed = Array.isArray(e.params.allowedValues)
    ? ` Value should be one of: ${e.params.allowedValues.filter((v) => v !== null).join(", ")}`
    : "";
  return badRequest(`Invalid input for field/attribute ${field}: ${e.message ?? "is not valid"}.${allowed}`);
}

/** What to answer for an error thrown while serving a request. */
export function httpFailure(err: unknown): HttpFailure {
  if (err instanceof ApiError) return { statusCode: err.statusCode, message: err.message };
  if (err instanceof RemoteCallError) {
    const statusCode = HTTP_OF_GRPC.get(err.code);
    if (statusCode !== undefined) {
      const message = err.code === status.UNAVAILABLE ? `a ratemesh service is unavailable: ${err.details}` : err.details;
      return { statusCode, message, grpcCode: codeName(err.code) };
    }
    return { ...internal(), grpcCode: codeName(err.code) };
  }
  const e = err as FastifyLikeError;
  if (e !== null && typeof e === "object" && typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    // Request validation and body parsing (fastify): the caller's mistake, its message names the field.
    return { statusCode: e.statusCode, message: e.message ?? "bad request" };
  }
  return internal();
}

function internal(): HttpFailure {
  const errorId = randomUUID().slice(0, 8);
  return { statusCode: 500, message: `internal error (id ${errorId}); the api gateway log has the cause`, errorId };
}

/** The error body CloudKitty gives at this URL: v1 answers in WSME's format, v2 and the root in Flask's. */
export function errorBody(url: string, statusCode: number, message: string): Record<string, unknown> {
  if (url.startsWith("/v1")) {
    return { faultcode: statusCode < 500 ? "Client" : "Server", faultstring: message, debuginfo: null };
  }
  return { message };
}
