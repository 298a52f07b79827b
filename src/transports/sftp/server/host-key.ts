// The hosted server's host key. Partners pin its fingerprint, so it must survive restarts: it lives in
// the data dir, is generated once (ed25519, OpenSSH private key format, so `ssh-keygen -lf` reads it)
// and is never rewritten. The private key file is 0600; a `.pub` copy sits next to it for operators.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { WaybillError } from '../../../errors/catalogue.js';

export interface HostKey {
  /** The private key as read from disk (what ssh2's Server wants). */
  privateKey: Buffer;
  /** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -lf` and the ssh client print it. */
  fingerprint: string;
  /** `ssh-ed25519 AAAA...`: the line a partner puts in known_hosts (prefixed with host and port). */
  publicKeyLine: string;
  path: string;
  created: boolean;
}

/** OpenSSH's SHA256 fingerprint of a public key in SSH wire format. */
export function fingerprintOf(publicSsh: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicSsh).digest('base64').replace(/=+$/, '')}`;
}

function parsePrivate(data: Buffer, path: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(data);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key || !key.isPrivateKey()) {
    throw new WaybillError('SFTP_HOST_KEY_INVALID', `SFTP host key ${path} is not an unencrypted OpenSSH/PEM private key${key instanceof Error ? `: ${key.message}` : ''}`, { path });
  }
  return key;
}

function describe(key: ParsedKey, privateKey: Buffer, path: string, created: boolean): HostKey {
  const publicSsh = key.getPublicSSH();
  return { privateKey, fingerprint: fingerprintOf(publicSsh), publicKeyLine: `${key.type} ${publicSsh.toString('base64')}`, path, created };
}

/**
 * A new ed25519 key pair in OpenSSH format, one that ssh2 (and so the server) can read back.
 *
 * ssh2 1.17's generateKeyPairSync strips leading zero bytes from the public key, so about one key in
 * 256 (those whose public key starts with 0x00) is written with a 31-byte public key that neither ssh2
 * nor OpenSSH accepts (mscdex/ssh2 issues 1390 and 1513). Such a host key, written on a gateway's first
 * start, would stop every later start with SFTP_HOST_KEY_INVALID. A pair that does not parse is thrown
 * away before anything is written; the next one is drawn from the same generator.
 */
export function generateHostKeyPair(): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'waybill-sftp-host' });
    const priv = ssh2.utils.parseKey(pair.private);
    const pub = ssh2.utils.parseKey(pair.public);
    if (!(priv instanceof Error) && !(pub instanceof Error)) return pair;
    // Chance 1/256 per draw: ten failures in a row mean something else is wrong.
    if (attempt === 10) {
      throw new WaybillError('SFTP_HOST_KEY_INVALID', `cannot make an SFTP host key: ssh2 generated ${attempt} ed25519 keys in a row that it cannot read back `
        + `(${(priv instanceof Error ? priv : (pub as Error)).message})`);
    }
  }
}

/** Reads the host key at `path`, generating it first when there is none. */
export function loadOrCreateHostKey(path: string): HostKey {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const pair = generateHostKeyPair();
    try {
      // 'wx': if another process created it meanwhile, keep theirs (read below) rather than overwrite.
      writeFileSync(path, pair.private, { mode: 0o600, flag: 'wx' });
      chmodSync(path, 0o600); // the umask may have narrowed... or a pre-set ACL widened; be exact
      writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
      const data = readFileSync(path);
      return describe(parsePrivate(data, path), data, path, true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const data = readFileSync(path);
  return describe(parsePrivate(data, path), data, path, false);
}

/** The fingerprint of an existing host key without creating one (for `waybill sftp host-key`); null when absent. */
export function readHostKeyFingerprint(path: string): string | null {
  if (!existsSync(path)) return null;
  return describe(parsePrivate(readFileSync(path), path), Buffer.alloc(0), path, false).fingerprint;
}

/** True when group or others may read the key file (worth a warning: OpenSSH refuses such keys). */
export function hostKeyTooOpen(path: string): boolean {
  return (statSync(path).mode & 0o077) !== 0;
}
