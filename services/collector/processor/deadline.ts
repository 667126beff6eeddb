import { DeadlineExceededError } from "../../../libs/errors/errors.js";

/**
 * Resolves as the promise does, or rejects at the deadline (aborting
 * `cancel`, which the work listens to) even if the promise never settles: a
 * hung source cannot stall the processor. `signal` abandons it early.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  seconds: number,
  what: string,
  cancel: AbortController,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new DeadlineExceededError(`${what}: no answer within ${seconds} s`);
      cancel.abort(err);
      reject(err);
    }, seconds * 1000);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new DeadlineExceededError(`${what}: abandoned`));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
