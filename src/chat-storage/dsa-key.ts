// private_key.dsa, the key file (python-potr's serializePrivateKey): a PUBKEY, then the MPI x. The key itself
// (PUBKEY rules, sanity check, fingerprints) is src/keys; this file only adds x and storage's FormatError.
import { EncodingError, concatBytes, encodeMpi, readMpi } from '../bytes/bytes.js';
import { checkDsaKey, parsePublicKey, serializePublicKey, type DsaKeyParams } from '../keys/dsa-key.js';
import { FormatError } from './errors.js';

export type { DsaKeyParams };

/** The private_key.dsa file body: type, then MPIs p q g y x. */
export function encodePrivateKey(k: DsaKeyParams): Uint8Array {
  return concatBytes(serializePublicKey(k), encodeMpi(k.x));
}

/** Parses a private_key.dsa body; throws FormatError saying what is wrong. Checks the numbers belong together. */
export function decodePrivateKey(data: Uint8Array): DsaKeyParams {
  try {
    const { key, next } = parsePublicKey(data, 0);
    const x = readMpi(data, next, 64);
    if (x.next !== data.length) throw new FormatError(`${data.length - x.next} unexpected bytes after the key`);
    const pair = { ...key, x: x.value };
    checkDsaKey(pair);
    return pair;
  } catch (e) {
    throw asFormatError(e);
  }
}

/** storage's error for what src/keys and src/bytes refuse (same message, the original as the cause). */
export function asFormatError(e: unknown): unknown {
  return e instanceof EncodingError ? new FormatError(e.message, { cause: e }) : e;
}
