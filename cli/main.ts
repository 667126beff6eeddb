#!/usr/bin/env node
/**
 * The `ratemesh` command: parses the command line, runs the command, and
 * turns any failure into one line on stderr and an exit status that tells
 * its kind (see EXIT_CODES_HELP). No stack trace is ever printed.
 */
import { CommanderError } from "commander";
import { describeError, EXIT } from "./errors.js";
import { buildProgram } from "./program.js";

/** Commander's own outcomes: help and version are not errors; a bad option value is an invalid argument. */
function exitOfCommander(err: CommanderError): number {
  if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT.ok;
  // Help printed because a command group was given without a subcommand.
  if (err.code === "commander.help") return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err.code === "commander.invalidArgument") return EXIT.invalid_argument;
  return EXIT.usage;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return exitOfCommander(err);
    const { exit, line } = describeError(err);
    process.stderr.write(`ratemesh: ${line}\n`);
    return exit;
  }
}

// A reader that stops early (`ratemesh summary | head`) is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? EXIT.ok);
  throw err;
});

process.exitCode = await main(process.argv);
