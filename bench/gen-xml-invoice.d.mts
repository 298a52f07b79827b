// Types for bench/gen-xml-invoice.mjs (plain JavaScript so the benchmark runs with node alone; tests import it).
export interface XmlInvoiceOptions {
  /** The invoice number (Invoice/@number); default SVX-INV-0051877. */
  number?: string;
}
export function generateXmlInvoice(charges: number, options?: XmlInvoiceOptions): string;
export function generateXmlInvoiceFile(path: string, charges: number, options?: XmlInvoiceOptions): number;
