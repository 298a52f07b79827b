// The outbox relay's thread (started by RelayThread, relay-thread.ts): its own ledger connection and Redis
// connection, the unchanged OutboxRelay, and messages to and from the gateway's thread (wake, stop,
// status, log lines).

import { parentPort, workerData } from 'node:worker_threads';
import { openLedger } from '../ledger/open.js';
import type { Logger } from '../pipeline/context.js';
import { createConnection } from './queues.js';
import { OutboxRelay } from './relay.js';
import type { RelayThreadData, RelayThreadMessage, RelayThreadCommand } from './relay-thread.js';

const port = parentPort;
if (!port) throw new Error('relay-worker.ts runs as a worker thread (RelayThread)');
const data = workerData as RelayThreadData;
const post = (m: RelayThreadMessage) => port.postMessage(m);

const log: Logger = {
  info: (obj, msg) => post({ type: 'log', level: 'info', obj, msg }),
  warn: (obj, msg) => post({ type: 'log', level: 'warn', obj, msg }),
  error: (obj, msg) => post({ type: 'log', level: 'error', obj, msg }),
};

// The gateway's own ledger connection runs the maintenance (SQLite's background WAL checkpoints).
const ledger = openLedger(data.ledger, { secondary: true });
// Connection errors are reported by the relay's own state (waiting-for-redis), as on the main thread.
const connection = createConnection(data.redisUrl, { role: 'producer', name: 'waybill-relay' });
const relay = new OutboxRelay({ ...data.options, ledger, connection, log });

// The gateway's thread reads status() synchronously (/readyz, tests): it gets every change, checked often.
let last = '';
const sendStatus = () => {
  const status = relay.status();
  const text = JSON.stringify(status);
  if (text !== last) {
    last = text;
    post({ type: 'status', status });
  }
};
const statusTimer = setInterval(sendStatus, 100);

port.on('message', (cmd: RelayThreadCommand) => {
  if (cmd.type === 'wake') relay.wake();
  else if (cmd.type === 'stop') {
    void (async () => {
      clearInterval(statusTimer);
      await relay.stop();
      connection.disconnect();
      await ledger.close();
      sendStatus();
      post({ type: 'stopped' });
      port.close();
    })();
  }
});

relay.start();
sendStatus();
