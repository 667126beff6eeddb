/** Stopping servers that fork workers (uWSGI, gnocchi-metricd, Keystone). */
import type { ChildProcess } from "node:child_process";

/**
 * SIGTERM to the child's process group (it must have been spawned with
 * detached: true), SIGKILL to the group after timeoutMs, and SIGKILL again
 * once the parent exited, for workers that outlive it.
 */
export function stopProcessGroup(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      resolve();
      return;
    }
    const pid = child.pid;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    const timer = setTimeout(() => kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      kill("SIGKILL");
      resolve();
    });
    kill("SIGTERM");
  });
}
