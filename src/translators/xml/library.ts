// fast-xml-parser, loaded on first use. The XML reader and writer are reached through the mapping modules
// in every process that translates, renders or lints, and most of those never see XML: an import at the
// top cost them about 70 ms of start-up and 1.6 MB of heap that stays live.
import { createRequire } from 'node:module';
import type * as FastXmlParser from 'fast-xml-parser';

let library: typeof FastXmlParser | undefined;

export function fastXmlParser(): typeof FastXmlParser {
  library ??= createRequire(import.meta.url)('fast-xml-parser') as typeof FastXmlParser;
  return library;
}
