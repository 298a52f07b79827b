// `waybill` command line. Exit codes: 0 success / valid, 1 invalid input data, 2 usage or file errors.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { inspectCommand } from './commands/inspect.js';
import { ackCommand } from './commands/ack.js';
import { lintCommand } from './commands/lint.js';
import { translateCommand } from './commands/translate.js';
import { testCommand } from './commands/test.js';
import { renderCommand } from './commands/render.js';
import { WaybillError } from '../errors/catalogue.js';
import { CliError } from './cli-error.js';

// package.json sits two folders up from both src/cli and dist/cli.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Commands return their exit status; the program remembers the last one. */
type Action<A extends unknown[]> = (...args: A) => Promise<number>;

export function buildProgram(): { program: Command; exitCode: () => number } {
  let status = 0;
  const run = <A extends unknown[]>(fn: Action<A>) => async (...args: A) => {
    status = await fn(...args);
  };
  const program = new Command();
  // The parser's own errors in the form every other error takes (`waybill: CODE: message`), so a script
  // or a log search finds usage errors by their code; the hint after them stays as commander writes it.
  program.configureOutput({
    outputError: (text, write) => write(text.replace(/^error: /, 'waybill: CLI_USAGE: ')),
  });
  program
    .name('waybill')
    .description('Waybill: EDI and file-transfer gateway for carrier and partner networks')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('inspect')
    .description('Read an X12 file and report its interchanges, groups, transaction sets, delimiters and every error/warning with its location')
    .argument('<file>', 'X12 file to inspect')
    .option('--json', 'print exactly one JSON object instead of the readable report')
    .addOption(new Option('--isa-width <policy>', 'how to treat an ISA that is not 106 fixed-width characters').choices(['warn', 'error']).default('warn'))
    .option('--envelope-only', 'check the envelope only, not the transaction-set schemas')
    .addHelpText('after', '\nExit status: 0 valid, 1 invalid, 2 usage error or unreadable file.')
    .action(run(inspectCommand));

  program
    .command('ack')
    .description('Print the TA1/997/999 acknowledgments Waybill would send back for an X12 file')
    .argument('<file>', 'inbound X12 file')
    .addOption(new Option('--ta1 <when>', 'when to send a TA1').choices(['always', 'on-request', 'on-error', 'never']).default('on-request'))
    .addOption(new Option('--functional <kind>', 'functional acknowledgment to build').choices(['997', '999', 'none']).default('997'))
    .option('--ack-version <gs08>', 'version of the acknowledgment (default: follow the inbound GS08)')
    .option('--control <n>', 'first control number to use for ISA13/GS06/ST02 of the acknowledgments', '1')
    .option('--json', 'print the acknowledgments as JSON (segments and text)')
    .addHelpText('after', '\nExit status: 0 acknowledgments printed (even for a rejected file), 1 no interchange to acknowledge, 2 usage error or unreadable file.')
    .action(run(ackCommand));

  const partnersDefault = process.env.WAYBILL_PARTNERS ?? 'partners';

  program
    .command('lint')
    .description('Check partner folders (partner.yaml, mappings, code tables): every problem as file:line:col CODE message')
    .argument('[paths...]', 'partner folders, files inside them, or a partners root (default: the partners folder)')
    .option('--partners <dir>', 'the partners root (env WAYBILL_PARTNERS)', partnersDefault)
    .option('--json', 'print the diagnostics as one JSON object')
    .addHelpText('after', '\nExit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error.')
    .action(run(lintCommand));

  program
    .command('translate')
    .description('Translate an inbound file (X12, CSV or XML) into the canonical events its partner mapping produces')
    .argument('<file>', 'inbound file')
    .option('--partner <id>', 'the partner (default: found from the ISA sender; for CSV and XML, the one partner whose route pattern matches the file name)')
    .option('--partners <dir>', 'the partners root (env WAYBILL_PARTNERS)', partnersDefault)
    .option('--received-at <iso>', 'receivedAt to stamp on events (default: now), for reproducible output')
    .option('--json', 'print one JSON object: events and per-unit status and errors')
    .option('--workers <n>', 'X12: translate on n worker threads (same output, in file order; for large files)', '1')
    .addHelpText('after', '\nExit status: 0 every transaction/record translated, 1 some failed, 2 usage error.')
    .action(run(translateCommand));

  program
    .command('render')
    .description('Render an outbound command (load.tender@1, freight.invoice@1 JSON) into the partner\'s file format')
    .argument('<command-json>', 'a canonical command as JSON')
    .requiredOption('--partner <id>', 'the partner to render for')
    .option('--partners <dir>', 'the partners root (env WAYBILL_PARTNERS)', partnersDefault)
    .addOption(new Option('--format <format>', 'which of the partner\'s outbound formats to use').choices(['x12', 'csv', 'xml']))
    .option('--frozen', 'fixed clock (2025-01-01T00:00:00Z) and control numbers (1, 1, 0001) so output compares byte for byte')
    .option('--control <n>', 'control number to use for ISA13/GS06 (ST02 counts from it) when not --frozen (default: 1)')
    .addHelpText('after', '\nExit status: 0 rendered, 1 invalid command or mapping failure, 2 usage error.')
    .action(run(renderCommand));

  program
    .command('test')
    .description('Run partners\' sample-based tests (partners/*/tests/*.yaml) with readable diffs')
    .argument('[paths...]', 'partner folders, a partners root, or test case files (tests/*.yaml: those cases only) (default: every partner)')
    .option('--partners <dir>', 'the partners root (env WAYBILL_PARTNERS)', partnersDefault)
    .option('--update', 'rewrite the expected files, and the errors/events written in the test files, with the actual output, for review')
    .option('--json', 'print results as one JSON object')
    .addHelpText('after', '\nExit status: 0 all passed, 1 some failed, 2 usage error.')
    .action(run(testCommand));

  program
    .command('serve')
    .description('Run the gateway: intake from the configured transports, translation, the event relay to BullMQ, webhook delivery, and HTTP /healthz /readyz /metrics')
    .option('--config <file>', 'waybill.yaml (default: embedded defaults: data in .data, partners in partners, inbound folder inbound, Redis at REDIS_URL)')
    .addHelpText('after', '\nStops cleanly on SIGTERM/SIGINT (also when it comes during start-up): intake stops first, in-flight work finishes.\nExit status: 0 stopped cleanly, 2 configuration or start-up error.')
    .action(run(async (flags) => (await import('./commands/serve.js')).serveCommand(flags)));

  program
    .command('demo')
    .description('Run the whole flow once on embedded defaults: a fresh gateway and data folder, sample files from the example partners dropped in, and the events an example ERP consumer receives from BullMQ')
    .option('--keep', 'keep the demo data folder instead of deleting it')
    .addHelpText('after', '\nNeeds Redis at REDIS_URL (default redis://127.0.0.1:6379).\nExit status: 0 every sample processed and every event consumed, 1 otherwise (or Redis unreachable).')
    .action(run(async (flags) => (await import('./commands/demo.js')).demoCommand(flags)));

  program
    .command('sftp')
    .description('The hosted SFTP server')
    .command('host-key')
    .description('Print the host key fingerprint (SHA256:...) partners pin for the hosted SFTP server')
    .option('--config <file>', 'waybill.yaml (default: embedded defaults)')
    .addHelpText('after', '\nExit status: 0 printed, 2 no host key yet or configuration error.')
    .action(run(async (flags) => (await import('./commands/sftp.js')).sftpHostKeyCommand(flags)));

  // dlq: loaded on use, so the other commands do not pay for BullMQ, ioredis and SQLite at start-up.
  // Each setting: the option, else its environment variable, else the gateway's waybill.yaml (--config),
  // else the default. A replay under another prefix than the gateway's went to a queue nothing consumes.
  const dlqOptions = (c: Command) => c
    .option('--config <file>', 'the gateway\'s waybill.yaml: its dataDir, redisUrl and queuePrefix (default: embedded defaults)')
    .option('--data <dir>', 'the gateway\'s data directory, holding ledger.db (env WAYBILL_DATA; default: the config\'s dataDir, .data)')
    .option('--redis-url <url>', 'Redis of the events queue (env REDIS_URL; default: the config\'s redisUrl, redis://127.0.0.1:6379)')
    .option('--queue-prefix <prefix>', 'BullMQ key prefix of the events queue (env WAYBILL_QUEUE_PREFIX; default: the config\'s queuePrefix, bull)');
  const dlq = program.command('dlq').description('Webhook deliveries in the dead-letter state: list them, replay them');
  dlqOptions(dlq.command('list'))
    .description('List dead-lettered events: id, type, partner, attempts, last HTTP status or error, last update')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExit status: 0 listed (also when there are none), 2 usage error or unreadable ledger.')
    .action(run(async (flags) => (await import('./commands/dlq.js')).dlqListCommand(flags)));
  dlqOptions(dlq.command('replay'))
    .description('Deliver dead-lettered events again: revive them in the ledger and queue them as <id>-replay-<n> (same event id, so the ERP still dedupes)')
    .argument('[event-ids...]', 'events to replay')
    .option('--all', 'replay every dead-lettered event')
    .addHelpText('after', '\nExit status: 0 replayed, 1 some could not be replayed (the rest were), 2 usage error, unknown or not dead-lettered id (nothing replayed), unreadable ledger or Redis unreachable.')
    .action(run(async (ids: string[], flags) => (await import('./commands/dlq.js')).dlqReplayCommand(ids, flags)));

  return { program, exitCode: () => status };
}

/**
 * `waybill help NAME...`, read as `waybill NAME... --help`. Commander's own help command takes one name:
 * for a NAME that is no command (`waybill help transalte`) it showed the general help on stderr and said
 * nothing of the name, and it ignored a second one (`waybill help dlq lst` and `waybill help dlq list`
 * both showed the dlq group's help, exit 0). Now an unknown name is the same usage error as
 * `waybill transalte` (unknown command, did-you-mean, exit 2) and `help dlq list` is `dlq list --help`.
 * `waybill help help` is the general help (it was that help on stderr, exit 2). Null when argv is not of
 * that form (`waybill help` alone is commander's).
 */
function helpTopic(program: Command, argv: string[]): string[] | null {
  if (argv[0] !== 'help' || argv.length < 2) return null;
  if (argv[1] === 'help') return ['--help'];
  let at = program;
  let i = 1;
  for (; i < argv.length && !argv[i].startsWith('-') && at.commands.length > 0; i++) {
    const next = at.commands.find((c) => c.name() === argv[i] || c.aliases().includes(argv[i]));
    if (!next) return argv.slice(1, i + 1);
    at = next;
  }
  return [...argv.slice(1, i), '--help'];
}

export async function main(argv: string[]): Promise<number> {
  const { program, exitCode } = buildProgram();
  argv = helpTopic(program, argv) ?? argv;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help asked for (--help, `waybill help`) and --version are not errors. 'commander.help' with a
      // non-zero exit code is commander showing help on stderr because a command or subcommand is missing
      // (`waybill`, `waybill dlq`): a usage error, so a script that forgot it does not pass as success.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
      // Every other parse failure is a usage error.
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`waybill: ${err.code}: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof WaybillError) {
      // A coded failure of the work itself (not of the command line): its code and message, no stack.
      process.stderr.write(`waybill: ${err.code}: ${err.message}\n`);
      return 1;
    }
    const sys = err as NodeJS.ErrnoException;
    if (typeof sys?.code === 'string' && (sys.syscall === 'read' || sys.syscall === 'open')) {
      // The file passed the checks up front but failed while being read (EIO on a failing disk, a
      // special file such as /proc/self/mem): the environment's failure, said as such, not a crash.
      const failure = new CliError('CLI_FILE_UNREADABLE', `cannot read ${sys.path ?? 'the input'}: ${sys.message}`);
      process.stderr.write(`waybill: ${failure.code}: ${failure.message}\n`);
      return failure.exitCode;
    }
    process.stderr.write(`waybill: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 70;
  }
}
