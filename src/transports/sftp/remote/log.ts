// The logger shape transports use: structurally the pipeline's Logger (pino fits), declared here so a
// transport depends on no other room for it.
export interface TransportLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  debug?(obj: Record<string, unknown>, msg?: string): void;
}

export const quietLogger: TransportLogger = { info() {}, warn() {}, error() {} };

