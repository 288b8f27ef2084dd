// SDES keying (RFC 4568): the a=crypto attribute. Only AES_CM_128_HMAC_SHA1_80 is offered (as Blink does);
// others are parsed so an answer can skip them. Key params are `inline:` base64 of 16-byte key + 14-byte salt,
// optionally followed by |lifetime and |MKI:length (lifetimes are accepted; an MKI is refused, as we send none).
import { randomBytes } from 'node:crypto';
import { SRTP_KEY_LEN, SRTP_SALT_LEN, type SrtpMasterKey } from './srtp.js';

export const SDES_SUITE = 'AES_CM_128_HMAC_SHA1_80';

export interface CryptoAttribute {
  tag: number;
  suite: string;
  /** Present when the suite is ours and the inline key is well formed. */
  key: SrtpMasterKey | null;
}

/** Parses the value of one a=crypto line (without `a=crypto:`); null when it is not an a=crypto value at all. */
export function parseCryptoAttribute(value: string): CryptoAttribute | null {
  const m = /^(\d{1,9})\s+(\S+)\s+(\S+)(?:\s+.*)?$/.exec(value.trim());
  if (!m) return null;
  const tag = Number(m[1]);
  const suite = m[2]!;
  let key: SrtpMasterKey | null = null;
  if (suite === SDES_SUITE) {
    // several key params may be listed, separated by ';': use the first inline one
    for (const param of m[3]!.split(';')) {
      const km = /^inline:([A-Za-z0-9+/=]+)(?:\|([^|]+))?(?:\|([^|]+))?$/.exec(param);
      if (!km) continue;
      if (km[3] !== undefined || (km[2] !== undefined && km[2].includes(':'))) continue; // MKI: not supported
      const raw = Buffer.from(km[1]!, 'base64');
      if (raw.length !== SRTP_KEY_LEN + SRTP_SALT_LEN) continue;
      key = {
        masterKey: new Uint8Array(raw.subarray(0, SRTP_KEY_LEN)),
        masterSalt: new Uint8Array(raw.subarray(SRTP_KEY_LEN)),
      };
      break;
    }
  }
  return { tag, suite, key };
}

export function buildCryptoAttribute(tag: number, key: SrtpMasterKey): string {
  const raw = Buffer.concat([key.masterKey, key.masterSalt]);
  return `${tag} ${SDES_SUITE} inline:${raw.toString('base64')}`;
}

export function newMasterKey(): SrtpMasterKey {
  const r = randomBytes(SRTP_KEY_LEN + SRTP_SALT_LEN);
  return {
    masterKey: new Uint8Array(r.subarray(0, SRTP_KEY_LEN)),
    masterSalt: new Uint8Array(r.subarray(SRTP_KEY_LEN)),
  };
}
