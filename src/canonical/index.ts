// Public API of the canonical model: the contract with the ERP. See README.md in this folder.
// src/canonical imports nothing else from src/.
export * from './common.js';
export * from './ids.js';
export * from './shipment-status.js';
export * from './freight-invoice.js';
export * from './tender-response.js';
export * from './load-tender.js';
export * from './functional-ack.js';
export * from './registry.js';
export * from './parse.js';
export * from './fast-validate.js';
export * from './unknown-keys.js';
