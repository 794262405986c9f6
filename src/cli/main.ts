#!/usr/bin/env node
/** The `keyscope` command: ops tools for keyscope-instrumented Pulsar services. */
import { auditCommand } from './audit.js';
import { UsageError } from './args.js';
import { brokerExporterCommand } from './broker-exporter.js';
import { timelineCommand } from './timeline.js';

const HELP = `Usage: keyscope <command> [options]

Commands:
  audit             cross-consumer exclusivity and order auditor (OTLP/HTTP in, /metrics out)
  timeline <key>    one key's messages across consumers, from Jaeger
  broker-exporter   the broker's Key_Shared state (draining hashes, replay, hash ranges) as metrics

Run keyscope <command> --help for its options.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  audit: auditCommand,
  timeline: timelineCommand,
  'broker-exporter': brokerExporterCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`keyscope: unknown command '${command}'\n\n${HELP}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`keyscope ${command}: ${error.message} (see keyscope ${command} --help)\n`);
      return 2;
    }
    process.stderr.write(`keyscope ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
