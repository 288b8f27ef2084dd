import { generateKeyPairSync } from 'node:crypto';
import { parsePkcs8DsaDer } from './asn1.js';
import type { DsaKeyParams } from './dsa-key.js';

/**
 * A 1024/160 DSA key from OpenSSL (node:crypto). The OTR engine owns key generation for the client; this one serves
 * tests and tools, and shows the PKCS#8 path works on what OpenSSL writes.
 */
export function generateDsaKeyWithNodeCrypto(): DsaKeyParams {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
  return parsePkcs8DsaDer(Uint8Array.from(privateKey.export({ type: 'pkcs8', format: 'der' })));
}
