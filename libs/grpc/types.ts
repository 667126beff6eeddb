/**
 * Types derived from ts-proto's generated service definitions
 * (`XxxServiceService`), so that handlers and clients are typed from the
 * contracts and never by hand.
 */

export interface MethodDef {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: never) => Buffer;
  readonly requestDeserialize: (value: Buffer) => unknown;
  readonly responseSerialize: (value: never) => Buffer;
  readonly responseDeserialize: (value: Buffer) => unknown;
}

export type ServiceDef = { readonly [method: string]: MethodDef };

export type RequestOf<M> = M extends { requestDeserialize: (value: Buffer) => infer R } ? R : never;
export type ResponseOf<M> = M extends { responseDeserialize: (value: Buffer) => infer R } ? R : never;

/** "/ratemesh.v1.StorageService/CommitPeriod" gives "ratemesh.v1.StorageService". */
export function serviceNameOf(def: ServiceDef): string {
  const first = Object.values(def)[0];
  if (first === undefined) throw new Error("empty service definition");
  return first.path.slice(1, first.path.lastIndexOf("/"));
}

/** "/ratemesh.v1.StorageService/CommitPeriod" gives "StorageService/CommitPeriod". */
export function shortMethod(path: string): string {
  const s = path.slice(path.lastIndexOf(".", path.lastIndexOf("/")) + 1);
  return s;
}
