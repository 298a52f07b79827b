import { formatDiagnostic } from '../../mappings/diagnostics.js';
import { loadConfig } from '../../gateway/config.js';
import { createLogger } from '../../gateway/logger.js';
import { startGateway } from '../../gateway/gateway.js';
import { CliError } from '../cli-error.js';

export interface ServeFlags {
  config?: string;
}

export async function serveCommand(flags: ServeFlags): Promise<number> {
  const { config, diagnostics } = loadConfig(flags.config);
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (!config) throw new CliError('CLI_USAGE', `the configuration ${flags.config ?? '(defaults)'} has errors`);
  const log = createLogger(config.log.level);
  // The signal handlers go in before the start: a SIGTERM that came while the gateway was starting (or
  // just after it logged 'gateway started', before the start returned) killed the process outright. Now
  // such a signal is kept, and the gateway stops cleanly as soon as it has started.
  let pending: string | null = null;
  let onSignal = (signal: string): void => { pending ??= signal; };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  let gateway;
  try {
    gateway = await startGateway(config, log);
  } catch (err) {
    const e = err as Error & { code?: string };
    // Exit 2 whatever the cause (a newer ledger schema, a port in use, ...); the message names the code.
    throw new CliError('CLI_START_FAILED', `cannot start: ${e.code ? `${e.code}: ` : ''}${e.message}`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'signal received');
      gateway.stop().then(resolve, (err: Error) => {
        log.error({ err: err.message }, 'error while stopping');
        resolve();
      });
    };
    if (pending !== null) stop(pending);
    else onSignal = stop;
  });
  return 0;
}
