// Opening a ledger from its location (Ledger.location): how a worker thread, such as the outbox relay's,
// gets its own connection to the gateway's ledger without knowing which database it is.
import type { Ledger, LedgerLocation } from './ledger.js';
import { SqliteLedger } from './sqlite.js';

export interface OpenLedgerOptions {
  /**
   * Another connection of this process runs the maintenance (SQLite: the WAL checkpoints); this one only
   * reads and writes. True for every connection a worker thread opens beside the gateway's own.
   */
  secondary?: boolean;
}

export function openLedger(at: LedgerLocation, opts: OpenLedgerOptions = {}): Ledger {
  switch (at.kind) {
    case 'sqlite':
      return new SqliteLedger(at.path, { checkpointedElsewhere: opts.secondary === true });
  }
}
