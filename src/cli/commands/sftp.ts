import { loadConfig } from '../../gateway/config.js';
import { formatDiagnostic } from '../../mappings/diagnostics.js';
import { hostedSftpServerSchema, resolveHostKeyPath } from '../../transports/sftp/config.js';
import { readHostKeyFingerprint } from '../../transports/sftp/server/host-key.js';
import { WaybillError } from '../../errors/catalogue.js';
import { CliError } from '../cli-error.js';

/** `waybill sftp host-key`: the hosted server's host key fingerprint, for partners to pin. */
export async function sftpHostKeyCommand(flags: { config?: string }): Promise<number> {
  // The host key lives under dataDir; this command never reads partners, so a partnersDir that is not
  // there (the defaults, run from another folder) is no reason to refuse.
  const { config, diagnostics } = loadConfig(flags.config, process.env, { checkPartnersDir: false });
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (!config) throw new CliError('CLI_USAGE', `the configuration ${flags.config ?? '(defaults)'} has errors`);
  const path = resolveHostKeyPath(config.sftp ?? hostedSftpServerSchema.parse({}), config.dataDir);
  let fingerprint: string | null;
  try {
    fingerprint = readHostKeyFingerprint(path);
  } catch (err) {
    // A key file that is no key is a configuration error (exit 2, as the help says), not a failure of the command.
    if (err instanceof WaybillError) throw new CliError(err.code, err.message);
    throw err;
  }
  if (!fingerprint) throw new CliError('CLI_FILE_NOT_FOUND', `no host key at ${path} yet: it is generated when waybill serve first starts the SFTP server`);
  process.stdout.write(`${fingerprint}  ${path}\n`);
  return 0;
}
