/**
 * Requests that do not decode to what the contracts promise are refused
 * before any handler sees them: a string field that is not valid UTF-8
 * (decoding would otherwise replace the bad bytes silently), a Timestamp
 * whose nanos are outside 0..999,999,999 (it would otherwise shift to
 * another instant). The server wrapper turns the decoding error into
 * INVALID_ARGUMENT. Seconds out of range are the field checks' to refuse
 * (libs/validation/limits.ts), which can name the field.
 */
import { configureTextEncoding } from "@bufbuild/protobuf/wire";
import { Timestamp } from "../gen/google/protobuf/timestamp.js";

/** A request the contracts cannot describe; its message says why. */
export class UndecodableRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UndecodableRequest";
  }
}

export function checkNanos(nanos: number): void {
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new UndecodableRequest(`a timestamp has nanos ${nanos}, outside 0..999999999`);
  }
}

let installed = false;

/** Makes the generated decoders strict, once per process. */
export function installStrictDecoding(): void {
  if (installed) return;
  installed = true;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  configureTextEncoding({
    encodeUtf8: (text) => encoder.encode(text),
    decodeUtf8: (bytes) => {
      try {
        return decoder.decode(bytes);
      } catch {
        throw new UndecodableRequest("a string field is not valid UTF-8");
      }
    },
    checkUtf8: (text) => (text as unknown as { isWellFormed(): boolean }).isWellFormed(),
  });
  const decode = Timestamp.decode.bind(Timestamp);
  Timestamp.decode = (input, length) => {
    const t = decode(input, length);
    checkNanos(t.nanos);
    return t;
  };
}

/**
 * A deserializer whose failure is handed to the handler wrapper as a value
 * (grpc-js would answer INTERNAL for a throw): the wrapper answers
 * INVALID_ARGUMENT.
 */
export function undecodableAsValue(deserialize: (bytes: Buffer) => unknown): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return deserialize(bytes);
    } catch (err) {
      return err instanceof UndecodableRequest ? err : new UndecodableRequest(`cannot be decoded: ${(err as Error).message}`);
    }
  };
}
