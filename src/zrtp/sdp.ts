// The SDP attribute of §8.1: `a=zrtp-hash:<version> <hex SHA-256 of the sender's Hello message>`.
import { ZrtpError } from './errors.js';

/** Parses the attribute value (with or without the `a=zrtp-hash:` prefix). */
export function parseZrtpHashAttribute(value: string): { version: string; hash: string } {
  const m = /^(?:a=zrtp-hash:)?\s*(\d\.\d+)\s+([0-9a-fA-F]{64})\s*$/.exec(value);
  if (!m) throw new ZrtpError('bad-value', 'malformed zrtp-hash attribute');
  return { version: m[1]!, hash: m[2]!.toLowerCase() };
}

export function formatZrtpHashAttribute(helloHash: string): string {
  return `a=zrtp-hash:${helloHash}`;
}
