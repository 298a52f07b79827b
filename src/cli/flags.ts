// Flag values more than one command takes, checked the same way everywhere.
import { CliError } from './cli-error.js';

/**
 * Control numbers `--control` may start from: what the gateway's allocator hands out (the ledger's
 * nextControlNumbers counts from 1 up to CONTROL_MAX in src/ledger/sqlite.ts). ISA13 is 9 digits, and
 * 0 is no number a partner expects (the writer would print ISA13 000000000 and ST02 0000).
 */
const CONTROL_MIN = 1;
const CONTROL_MAX = 999_999_999;

/** `--control` as a number, or a usage error: `Number()` alone lets 'abc' through as NaN and '1e3' as 1000. */
export function parseControlFlag(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= CONTROL_MIN && n <= CONTROL_MAX)) {
    throw new CliError('CLI_USAGE', `--control takes a whole number from ${CONTROL_MIN} to ${CONTROL_MAX} (ISA13 has 9 digits), not '${value}'`);
  }
  return n;
}
