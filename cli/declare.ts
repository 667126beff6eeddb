/**
 * Commands declared from what differs between them. A command is a name, a
 * description and examples, then arguments, options and an action; the
 * commands about one record (show, rename, delete a service, field, group,
 * mapping, threshold or rule) differ only in the kind of record: its name in
 * messages, the argument that names one, how that argument becomes an id and
 * how one record is printed. Commands that create or change a record print
 * it the same way (printsRecord).
 */
import type { Command } from "commander";
import { action, type Context } from "./context.js";
import { examples, formatOption } from "./options.js";
import { renderRecord } from "./output.js";

/** The output formats of a command that prints one record. */
export type RecordFormat = "table" | "json";

/** `-f, --format` of a command that prints one record: table or json. */
export const recordFormatOption = () => formatOption(["table", "json"]);

/** A subcommand of `parent` with its description and examples; the caller adds arguments, options and the action. */
export function subcommand(parent: Command, name: string, description: string, ...exampleLines: string[]): Command {
  return parent
    .command(name)
    .description(description)
    .addHelpText("after", examples(...exampleLines));
}

/** A kind of record, as the commands about one record need it. */
export interface RecordKind<T> {
  /** What messages call one: "service". */
  noun: string;
  /** The argument that names one, as commander takes it: ["<service>", "id or name"]. */
  arg: readonly [name: string, description?: string];
  /** An example of that argument, for the examples in the help. */
  sample: string;
  /** The id of the record the argument names (a name, a service/field path); the argument itself when absent. */
  idOf?: (ctx: Context, ref: string) => Promise<string>;
  print: (ctx: Context, format: RecordFormat, record: T | undefined) => Promise<void>;
}

/** A kind of record printed as its row in a table, and as the message's own JSON (every field, exact) in json. */
export function messageKind<T>(
  noun: string,
  arg: readonly [name: string, description?: string],
  sample: string,
  row: (ctx: Context, record: T) => Promise<Record<string, unknown>> | Record<string, unknown>,
  toJSON: (record: T) => unknown,
): RecordKind<T> {
  return {
    noun,
    arg,
    sample,
    print: async (ctx, format, record) => {
      if (record === undefined) return;
      const shown = await row(ctx, record);
      await ctx.write(renderRecord(format, format === "json" ? (toJSON(record) as Record<string, unknown>) : shown));
    },
  };
}

function idOf<T>(kind: RecordKind<T>, ctx: Context, ref: string): Promise<string> {
  return kind.idOf === undefined ? Promise.resolve(ref) : kind.idOf(ctx, ref);
}

/** The action of a command that prints the one record `run` gives (show, create, update), in its -f format. */
export function printsRecord<T, O, A extends unknown[]>(
  kind: RecordKind<T>,
  run: (ctx: Context, o: O, ...args: A) => Promise<T | undefined>,
) {
  return action(async (ctx, o: O & { format: RecordFormat }, ...args: A) => {
    await kind.print(ctx, o.format, await run(ctx, o, ...args));
  });
}

/** The command's full name, as the help shows it: "ratemesh hashmap services". */
function pathOf(cmd: Command): string {
  return cmd.parent === null ? cmd.name() : `${pathOf(cmd.parent)} ${cmd.name()}`;
}

/** `show <record>`: one record, printed. */
export function showCommand<T>(group: Command, kind: RecordKind<T>, get: (ctx: Context, id: string) => Promise<T | undefined>): Command {
  return subcommand(group, "show", `One ${kind.noun}`, `${pathOf(group)} show ${kind.sample}`)
    .argument(...kind.arg)
    .addOption(recordFormatOption())
    .action(printsRecord(kind, async (ctx, _o: object, ref: string) => get(ctx, await idOf(kind, ctx, ref))));
}

/** `update <record> --name <name>`: the record renamed, printed. */
export function renameCommand<T>(
  group: Command,
  kind: RecordKind<T>,
  example: string,
  rename: (ctx: Context, id: string, name: string) => Promise<T | undefined>,
): Command {
  return subcommand(group, "update", `Rename a ${kind.noun}`, example)
    .argument(...kind.arg)
    .requiredOption("--name <name>", "new name")
    .addOption(recordFormatOption())
    .action(printsRecord(kind, async (ctx, o: { name: string }, ref: string) => rename(ctx, await idOf(kind, ctx, ref), o.name)));
}

/** `delete <record>`, saying which id it deleted; `remove` gets the command's options (add them to the returned command). */
export function deleteCommand<T, O = object>(
  group: Command,
  kind: RecordKind<T>,
  description: string,
  example: string,
  remove: (ctx: Context, id: string, o: O) => Promise<unknown>,
): Command {
  return subcommand(group, "delete", description, example)
    .argument(...kind.arg)
    .action(
      action(async (ctx, o: O, ref: string) => {
        const id = await idOf(kind, ctx, ref);
        await remove(ctx, id, o);
        await ctx.write(`deleted ${kind.noun} ${id}\n`);
      }),
    );
}
