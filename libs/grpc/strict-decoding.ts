/**
 * Requests that do not decode to what the contracts promise are refused
 * before any handler sees them: a string field that is not valid UTF-8
 * (decoding would otherwise replace the bad bytes silently), a Timestamp
 * whose nanos are outside 0..999,999,999 or whose seconds are outside
 * years 1 to 9999 (it would otherwise shift to another instant). The
 * server wrapper turns the decoding error into INVALID_ARGUMENT.
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

const MIN_SECONDS = -62135596800n;
const MAX_SECONDS = 253402300799n;

export function checkTimestamp(seconds: bigint, nanos: number): void {
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new UndecodableRequest(`a timestamp has nanos ${nanos}, outside 0..999999999`);
  }
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new UndecodableRequest(`a timestamp has seconds ${seconds}, outside years 1 to 9999`);
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
    checkTimestamp(BigInt(t.seconds), t.nanos);
    return t;
  };
}
