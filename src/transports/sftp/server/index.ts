// The hosted SFTP server's public surface (the gateway wires it; the outbound delivery writes into
// partnerDirs(...).outbound).
export { HostedSftpServer, type HostedSftpServerOptions } from './server.js';
export type { AccountEntry } from './account.js';
export type { HostedInboundFile, TakeFn } from './completion.js';
export { partnerDirs, type PartnerDirs } from './fs.js';
export { fingerprintOf, loadOrCreateHostKey, readHostKeyFingerprint, type HostKey } from './host-key.js';
