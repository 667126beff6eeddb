/** Resource use of a process from /proc: open file descriptors and resident memory. */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcSample {
  fds: number;
  rssKiB: number;
}

export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { fds, rssKiB: Number(m?.[1] ?? 0) };
  } catch {
    return undefined;
  }
}
