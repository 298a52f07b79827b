// A partner's `transports.remote` block in partner.yaml: the partner's own SFTP server, which Waybill
// polls for inbound files and pushes outbound files to. The private key is a reference (a file path or an
// environment variable name), never the key itself, so partner folders can live in git; it is read at
// connect time and never logged.
import { posix } from 'node:path';
import { z } from 'zod';
import { matchesAny, renderFileName } from './names.js';

/** OpenSSH's fingerprint format (`ssh-keygen -lf`): "SHA256:" + unpadded base64 of the key's SHA-256. */
export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A remote directory: absolute or relative to the login directory; no `..` so config cannot wander. */
const remoteDir = z.string().min(1).refine((d) => !d.split('/').includes('..'), 'a remote directory may not contain ..');

const globList = z.union([z.string(), z.array(z.string().min(1))])
  .transform((v) => (Array.isArray(v) ? v : v.split(',').map((s) => s.trim()).filter(Boolean)));

export const FILE_NAME_PLACEHOLDERS = ['kind', 'id', 'control', 'date', 'time'] as const;

export const outboundSchema = z.strictObject({
  /** Where our files go on the partner's server. */
  dir: remoteDir,
  /** Placeholders: {kind} {id} {control} {date} {time}; all come from the document, so a retry reuses the name. */
  fileName: z.string().min(1).default('{kind}_{control}_{id}.edi')
    .refine((p) => !/[/\\]/.test(p), 'a file name pattern may not contain / or \\ (a separator on Windows servers)')
    .refine((p) => /\{(id|control)\}/.test(p), 'a file name pattern needs {id} or {control}, or every document gets the same name')
    .refine((p) => [...p.matchAll(/\{([^}]*)\}/g)].every((m) => (FILE_NAME_PLACEHOLDERS as readonly string[]).includes(m[1])),
      `unknown placeholder; use ${FILE_NAME_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`),
  /**
   * Appended to the file name while it is uploaded; the final rename removes it. No separator: "/../../x"
   * put the upload outside `dir` (which may not contain ..), and a backslash is one on Windows servers.
   */
  tempSuffix: z.string().min(1).default('.part')
    .refine((s) => !/[/\\]/.test(s), 'a temp suffix may not contain / or \\ (the upload must stay in dir)'),
  /** What to do when the final name already exists there. */
  onExists: z.enum(['fail', 'overwrite', 'unique']).default('fail'),
});

export const pollSchema = z.strictObject({
  dir: remoteDir,
  /** File-name glob(s), e.g. "*.edi" or "*.edi,*.x12" (case-insensitive). */
  pattern: globList.default(['*']),
  afterIntake: z.enum(['delete', 'move']).default('delete'),
  /** For afterIntake: move. Must not be a polled directory. */
  moveTo: remoteDir.optional(),
}).refine((p) => p.afterIntake !== 'move' || !!p.moveTo, { message: 'afterIntake: move needs moveTo', path: ['moveTo'] });

export const privateKeyRefSchema = z.union([
  z.strictObject({ path: z.string().min(1) }),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
]);

export const remoteSftpSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  username: z.string().min(1),
  privateKey: privateKeyRefSchema,
  /** The passphrase of the key, if it has one: also a reference. */
  passphrase: privateKeyRefSchema.optional(),
  /** The server's host key fingerprint, pinned: anything else is refused. */
  hostKey: z.string().regex(FINGERPRINT_RE, 'a host key fingerprint looks like SHA256:<43 base64 characters> (ssh-keygen -lf)'),
  poll: z.array(pollSchema).default([]),
  intervalSeconds: z.number().min(0.01).default(60),
  /** Files modified more recently than this are still being written (or may be): skipped until older. */
  minAgeSeconds: z.number().min(0).default(30),
  /** How long to wait between the two listings that must agree on a file's size and mtime. */
  settleSeconds: z.number().min(0).default(1),
  /** Names never taken: temporary uploads and hidden files. */
  tempPattern: globList.default(['*.tmp', '*.part', '.*']),
  outbound: outboundSchema.optional(),
  retry: z.strictObject({
    baseSeconds: z.number().min(0.01).default(5),
    maxSeconds: z.number().min(0.01).default(600),
  }).prefault({}),
  /** Connection (handshake) timeout. */
  connectTimeoutSeconds: z.number().min(1).default(20),
  /**
   * How long one SFTP request may go unanswered before the connection is closed (SFTP_REMOTE_STALLED).
   * Keepalives do not cover this: a server whose SSH side answers them while its SFTP side is stuck
   * (a hung disk or network share) held a poll, its stop() and every partner reload forever.
   */
  operationTimeoutSeconds: z.number().min(1).default(60),
}).superRefine((c, ctx) => {
  const polled = new Set(c.poll.map((p) => normDir(p.dir)));
  c.poll.forEach((p, i) => {
    if (p.moveTo && polled.has(normDir(p.moveTo))) {
      ctx.addIssue({ code: 'custom', message: 'moveTo may not be a polled directory (moved files would be taken again)', path: ['poll', i, 'moveTo'] });
    }
  });
  // Our own documents pushed into a folder we poll would be taken in again as the partner's files. A
  // shared folder is fine when the poll patterns leave our names alone (tried on sample names).
  const out = c.outbound;
  if (out) {
    const samples = OUTBOUND_SAMPLE_KINDS.flatMap((kind) => {
      try {
        return [renderFileName(out.fileName, { id: 'ack-sha256-0-0', kind, createdAt: '2026-01-01T00:00:00Z', controls: { interchange: '1' } })];
      } catch {
        return []; // an unusable pattern: said by the fileName checks
      }
    });
    const clash = c.poll.find((p) => normDir(p.dir) === normDir(out.dir) && samples.some((n) => matchesAny(n, p.pattern) && !matchesAny(n, c.tempPattern)));
    if (clash) {
      ctx.addIssue({ code: 'custom', path: ['outbound', 'dir'],
        message: `outbound.dir is polled with pattern ${clash.pattern.join(',')}, which matches the names pushed there (the documents would be taken in again)` });
    }
  }
  if (c.retry.maxSeconds < c.retry.baseSeconds) {
    ctx.addIssue({ code: 'custom', message: 'retry.maxSeconds must be at least retry.baseSeconds', path: ['retry', 'maxSeconds'] });
  }
});

/** Kinds of outbound documents, for trying an outbound fileName against the poll patterns. */
const OUTBOUND_SAMPLE_KINDS = ['997', '999', 'TA1', '204', '210', '214', '810', '990'];

export type RemoteSftpConfig = z.infer<typeof remoteSftpSchema>;
export type RemoteSftpInput = z.input<typeof remoteSftpSchema>;
export type PollDirConfig = RemoteSftpConfig['poll'][number];
export type OutboundConfig = z.infer<typeof outboundSchema>;
export type PrivateKeyRef = z.infer<typeof privateKeyRefSchema>;

/**
 * A directory as the server resolves it, for comparing poll dirs with moveTo: '/out/.', '/out//' and
 * '/out/' are '/out'. Without this, moveTo '/out/.' passed the check: each poll moved the file to a new
 * suffixed name inside the polled folder, where the next poll took it again, without end.
 * (A relative dir and an absolute one, or a symlink, can still name the same folder; only the server knows.)
 */
function normDir(d: string): string {
  return posix.normalize(d).replace(/\/+$/, '') || (d.startsWith('/') ? '/' : '.');
}

/** Parses a `transports.remote` value; problems come back as "path: message" lines (for lint and logs). */
export function parseRemoteSftp(value: unknown): { config: RemoteSftpConfig; problems: [] } | { config: null; problems: string[] } {
  const r = remoteSftpSchema.safeParse(value);
  if (r.success) return { config: r.data, problems: [] };
  return { config: null, problems: r.error.issues.map((i) => `transports.remote${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`) };
}
