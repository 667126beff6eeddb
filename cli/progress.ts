/**
 * Progress of work measured in periods (a catch-up, a reprocessing task): a
 * live bar on a terminal (cli-progress), plain lines otherwise, so that a
 * log or a pipe gets one readable line per update instead of cursor codes.
 */
import { SingleBar } from "cli-progress";
import { iso } from "./dates.js";

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export class PeriodProgress {
  private bar: SingleBar | undefined;
  private readonly started: number;
  private last = { done: 0, total: 0 };

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly interactive: boolean,
    private readonly label: string,
    private readonly now: () => Date,
  ) {
    this.started = now().getTime();
  }

  /** Periods done since the start, and the total (done + still to do). */
  update(done: number, total: number): void {
    this.last = { done, total };
    const elapsed = (this.now().getTime() - this.started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = total <= done ? "0s" : rate > 0 ? formatDuration((total - done) / rate) : "?";
    if (this.interactive) {
      if (this.bar === undefined) {
        // Started at the first figures, so that it never shows an empty total as complete.
        this.bar = new SingleBar({
          format: `${this.label} [{bar}] {value}/{total} periods | {rate}/s | ETA {remaining}`,
          stream: this.out as NodeJS.WritableStream & { isTTY?: boolean },
          hideCursor: true,
          barsize: 30,
        });
        this.bar.start(total, done, { rate: rate.toFixed(1), remaining: eta });
        return;
      }
      this.bar.setTotal(total);
      this.bar.update(done, { rate: rate.toFixed(1), remaining: eta });
      return;
    }
    this.out.write(
      `${iso(this.now())}  ${this.label}: ${done}/${total} periods done, ${total - done} to go, ${rate.toFixed(1)}/s, ETA ${eta}\n`,
    );
  }

  stop(): void {
    this.bar?.stop();
    const elapsed = (this.now().getTime() - this.started) / 1000;
    this.out.write(`${this.label}: ${this.last.done} periods in ${formatDuration(elapsed)}\n`);
  }
}

/**
 * Ctrl-C while following progress: the loop ends at once and cleanly (the
 * bar closed, the cursor shown again) instead of the process dying mid-line.
 * The work itself goes on in the services.
 */
export function interruption(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once("SIGINT", abort);
  return { signal: controller.signal, dispose: () => process.removeListener("SIGINT", abort) };
}
