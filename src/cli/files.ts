// Checking a user-given path before streaming it, so a bad path is one clear line, not a stack trace.
import { statSync, accessSync, constants, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { didYouMean } from '../mappings/diagnostics.js';
import { CliError } from './cli-error.js';

/**
 * ` (did you mean 'partners/prairie-line'?)` when the folder `path` names has an entry close to its last
 * part (a typo in a partner folder, a test case, a sample), else ''.
 */
export function nearPathHint(path: string): string {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return '';
  }
  const near = didYouMean(basename(path), names.filter((n) => !n.startsWith('.')));
  return near === undefined ? '' : ` (did you mean '${join(dirname(path), near)}'?)`;
}

export function requireReadableFile(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError('CLI_FILE_NOT_FOUND', `no such file: ${path}${nearPathHint(path)}`);
    throw new CliError('CLI_FILE_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (st.isDirectory()) throw new CliError('CLI_FILE_UNREADABLE', `${path} is a directory, not a file`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new CliError('CLI_FILE_UNREADABLE', `permission denied: ${path}`);
  }
}

/** --partners must name a folder: otherwise every sender is "unknown" and every partner "invalid". */
export function requirePartnersFolder(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CliError('CLI_FILE_NOT_FOUND', `no partners folder ${path} (--partners)`);
  }
  if (!st.isDirectory()) throw new CliError('CLI_FILE_UNREADABLE', `--partners ${path} is a file, not a folder of partners`);
}
