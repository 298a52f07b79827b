import type { ErrorCode } from '../errors/catalogue.js';

/** A one-line, coded failure of a command (bad path, unreadable file, bad option value). */
export class CliError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'CliError';
  }
}
