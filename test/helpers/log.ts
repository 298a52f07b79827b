// A transport logger that keeps what it is told, for tests that assert on log lines (codes, levels).
import type { TransportLogger } from '../../src/transports/sftp/remote/log.js';

export interface LogEntry { level: 'info' | 'warn' | 'error' | 'debug'; obj: Record<string, unknown>; msg?: string }

export function captureLog(): TransportLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => entries.push({ level: 'error', obj, msg }),
    debug: (obj, msg) => entries.push({ level: 'debug', obj, msg }),
  };
}
