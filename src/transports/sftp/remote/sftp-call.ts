// One SFTP request on ssh2's raw channel, as a promise. ssh2 answers the requests pending when the channel
// closes (with an error), but a request sent after it closed is never answered: a download or an upload
// that asked one more thing of a dropped connection waited for ever. So a request is sent only while the
// channel is open; otherwise it fails at once, without an SFTP status code (not file-level: the caller
// treats it as a lost connection).
import type { SFTPWrapper } from 'ssh2';

export function channelOpen(sftp: SFTPWrapper): boolean {
  // When the whole connection drops, ssh2 marks only the incoming side closed (outgoing stays 'open').
  const ch = sftp as unknown as { outgoing?: { state?: string }; incoming?: { state?: string } };
  return ch.outgoing?.state === 'open' && ch.incoming?.state === 'open';
}

export function sftpCall<T>(sftp: SFTPWrapper, send: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (!channelOpen(sftp)) return reject(new Error('the SFTP channel is closed (connection dropped)'));
    send((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}
