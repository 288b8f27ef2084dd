// Random identifiers: transaction ids, message ids, session ids. Alphanumeric so they are valid MSRP idents
// and URI session-ids everywhere.
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomIdent(length: number): string {
  // 62 does not divide 256: reject bytes >= 248 to keep the distribution uniform.
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

export const newTransactionId = (): string => randomIdent(12);
export const newMessageId = (): string => randomIdent(16);
export const newSessionId = (): string => randomIdent(20);
