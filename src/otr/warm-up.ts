/**
 * Makes the first AKE of a process as fast as later ones: OpenSSL builds its context for the OTR group and for our
 * DSA modulus (a prime check each, tens of milliseconds) on first use. Call it in idle time after start-up.
 */
import type { DsaKeyParams } from '../keys/dsa-key.js';
import { dsaSign } from './crypto/dsa.js';
import { G, modPow } from './crypto/group.js';

export function warmUpOtr(key: DsaKeyParams): void {
  dsaSign(key, new Uint8Array(32));
  modPow(G, 3n);
}
