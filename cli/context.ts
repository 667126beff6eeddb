/**
 * What a command works with: the resolved settings, lazily opened
 * connections to the services (a command that only reads storage never
 * dials rating), the output stream and the clock. Every action runs through
 * `action()`, which builds the context from the command's options and
 * closes the connections afterwards.
 */
import type { Command } from "commander";
import { AuditServiceService } from "../libs/gen/ratemesh/v1/audit.js";
import { CollectorServiceService } from "../libs/gen/ratemesh/v1/collector.js";
import { PriceListServiceService } from "../libs/gen/ratemesh/v1/pricelist.js";
import { HashmapServiceService, RatingServiceService, RulesServiceService } from "../libs/gen/ratemesh/v1/rating.js";
import { ReprocessServiceService, ScopeServiceService, StorageServiceService } from "../libs/gen/ratemesh/v1/storage.js";
import { CliConnection } from "./grpc.js";
import { passwordToken } from "./keystone.js";
import { writeOut } from "./output.js";
import { type GlobalOptions, resolveSettings, type ServiceRole, type Settings } from "./settings.js";

export class Context {
  private readonly connections = new Map<ServiceRole, CliConnection>();

  constructor(
    readonly settings: Settings,
    readonly out: NodeJS.WritableStream,
    readonly err: NodeJS.WritableStream,
    /** Whether `out` is a terminal (progress bars, colours off otherwise). */
    readonly interactive: boolean,
    readonly now: () => Date,
  ) {}

  connection(role: ServiceRole): CliConnection {
    let c = this.connections.get(role);
    if (c === undefined) {
      c = new CliConnection(role, this.settings.address[role], this.settings);
      this.connections.set(role, c);
    }
    return c;
  }

  get storage() {
    return this.connection("storage").client(StorageServiceService);
  }
  get scopes() {
    return this.connection("storage").client(ScopeServiceService);
  }
  get reprocess() {
    return this.connection("storage").client(ReprocessServiceService);
  }
  get rating() {
    return this.connection("rating").client(RatingServiceService);
  }
  get hashmap() {
    return this.connection("rating").client(HashmapServiceService);
  }
  get rules() {
    return this.connection("rating").client(RulesServiceService);
  }
  get priceLists() {
    return this.connection("rating").client(PriceListServiceService);
  }
  /** The audit trail of storage or rating. */
  audit(role: "storage" | "rating") {
    return this.connection(role).client(AuditServiceService);
  }
  get collector() {
    return this.connection("collector").client(CollectorServiceService);
  }

  write(text: string): Promise<void> {
    return writeOut(this.out, text);
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}

/**
 * A commander action with a Context: `fn(ctx, options, ...positional)`.
 * Commander passes the positional arguments, then the command's options,
 * then the command itself.
 */
export function action<O, A extends unknown[]>(
  fn: (ctx: Context, opts: O, ...args: A) => Promise<void>,
): (...commanderArgs: unknown[]) => Promise<void> {
  return async (...commanderArgs: unknown[]) => {
    const cmd = commanderArgs[commanderArgs.length - 1] as Command;
    const positional = commanderArgs.slice(0, -2) as A;
    const global = cmd.optsWithGlobals<GlobalOptions>();
    const settings = resolveSettings(global);
    // Keystone credentials give the token every call carries, asked for once.
    if (settings.token === undefined && settings.keystone !== undefined) settings.token = (await passwordToken(settings.keystone)).token;
    const ctx = new Context(settings, process.stdout, process.stderr, process.stdout.isTTY === true, () => new Date());
    try {
      await fn(ctx, cmd.opts<O & object>(), ...positional);
    } finally {
      ctx.close();
    }
  };
}
