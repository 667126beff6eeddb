/**
 * A safety net for the servers the tests start: a tiny detached shell that
 * waits for this test process to exit, then ends the servers' process
 * groups (and drops their database, removes their directory). A test run killed halfway (a timeout,
 * Ctrl-C) leaves no Gnocchi, Keystone or Prometheus behind. The normal stop
 * ends the servers itself and then the watchdog.
 */
import { spawn } from "node:child_process";
import { adminUrl } from "./postgres.js";

export interface Watchdog {
  /** The servers were stopped normally: the watchdog is no longer needed. */
  release(): void;
}

export function watchdog(processGroups: number[], opts: { database?: string; dir?: string } = {}): Watchdog {
  const kill = (sig: string) => processGroups.map((g) => `kill -${sig} -${g} 2>/dev/null`).join("; ");
  const drop =
    opts.database === undefined
      ? "true"
      : `psql '${adminUrl()}' -qc 'DROP DATABASE IF EXISTS ${opts.database} WITH (FORCE)' >/dev/null 2>&1`;
  const remove = opts.dir === undefined ? "true" : `rm -rf '${opts.dir}'`;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${kill("TERM")}; sleep 3; ${kill("KILL")}; ${drop}; ${remove}`;
  const w = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  w.unref();
  return {
    release() {
      if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
    },
  };
}
