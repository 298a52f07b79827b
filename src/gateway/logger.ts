// Structured JSON logs (pino) with file and event ids as fields.
import pino from 'pino';
import type { Logger } from '../pipeline/context.js';

export function createLogger(level: string, destination?: NodeJS.WritableStream): pino.Logger & Logger {
  return pino({ level, base: { service: 'waybill' }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? process.stdout) as pino.Logger & Logger;
}
