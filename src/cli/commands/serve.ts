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
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
