// Worker side of translateXmlFileInWorker (xml-worker.ts): compiles the partner from its folder, checks it
// is the partner the gateway has (same files: CompiledPartner.stamp), translates the XML file and answers
// with the unit, its events already as ledger rows (JSON text: cheap to pass between threads, and what the
// ledger stores). One message, then the thread ends.
import { parentPort, workerData } from 'node:worker_threads';
import { compilePartner } from '../mappings/registry.js';
import { translateXmlFile, type TranslateOptions } from '../mappings/translate.js';
import { prepareUnit, type PreparedUnit } from './unit-rows.js';

export interface XmlWorkerData {
  path: string;
  partnerDir: string;
  partnerId: string;
  /** The stamp of the gateway's compiled partner: a compile here with another stamp is another partner. */
  stamp: string | undefined;
  opts: TranslateOptions;
}

export type XmlWorkerMessage =
  | { type: 'unit'; unit: PreparedUnit }
  /** The partner's files are not those the gateway's partner was compiled from (or do not compile now). */
  | { type: 'partner-differs'; reason: string }
  | { type: 'error'; message: string; stack?: string };

function main(): XmlWorkerMessage {
  const data = workerData as XmlWorkerData;
  const { partner } = compilePartner(data.partnerDir);
  if (!partner) return { type: 'partner-differs', reason: 'the partner\'s files do not compile now' };
  if (partner.id !== data.partnerId) return { type: 'partner-differs', reason: `the folder now holds partner '${partner.id}'` };
  if (data.stamp === undefined || partner.stamp !== data.stamp) return { type: 'partner-differs', reason: 'the partner\'s files changed since it was loaded' };
  return { type: 'unit', unit: prepareUnit(translateXmlFile(data.path, partner, data.opts)) };
}

let message: XmlWorkerMessage;
try {
  message = main();
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  message = { type: 'error', message: e.message, stack: e.stack };
}
parentPort!.postMessage(message);
