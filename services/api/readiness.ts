/**
 * Readiness of the gateway: it can answer CloudKitty's API when storage and
 * rating report SERVING (grpc.health.v1), checked every [server]
 * readiness_interval. The collector is checked and shown too; only
 * /v1/info needs it, so it does not make the gateway unready.
 */
import type { Logger } from "../../libs/logging/logger.js";

export interface Dependency {
  name: string;
  required: boolean;
  serving(deadlineSeconds: number): Promise<boolean>;
}

export interface ReadinessState {
  ready: boolean;
  stopping: boolean;
  services: Record<string, "SERVING" | "NOT_SERVING">;
}

export class Readiness {
  private readonly status = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly dependencies: Dependency[],
    private readonly logger: Logger,
  ) {}

  get stopping(): boolean {
    return this.stopped;
  }

  state(): ReadinessState {
    const services: ReadinessState["services"] = {};
    for (const d of this.dependencies) services[d.name] = this.status.get(d.name) === true ? "SERVING" : "NOT_SERVING";
    const ready = !this.stopped && this.dependencies.every((d) => !d.required || this.status.get(d.name) === true);
    return { ready, stopping: this.stopped, services };
  }

  /** Checks now, then every intervalSeconds until stop(). */
  async watch(intervalSeconds: number): Promise<void> {
    const deadline = Math.max(0.5, Math.min(intervalSeconds, 5));
    let first = true;
    const run = async () => {
      const before = this.state().ready;
      await Promise.all(
        this.dependencies.map(async (d) => {
          this.status.set(d.name, await d.serving(deadline));
        }),
      );
      const after = this.state();
      if (first || after.ready !== before) this.logger.info({ services: after.services }, after.ready ? "ready" : "not ready");
      first = false;
    };
    await run();
    const tick = () => {
      this.timer = setTimeout(() => {
        void run().finally(() => {
          if (!this.stopped) tick();
        });
      }, intervalSeconds * 1000);
      this.timer.unref();
    };
    tick();
  }

  /** From now on: not ready, and /healthcheck answers 503. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
