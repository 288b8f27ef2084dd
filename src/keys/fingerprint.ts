// How an OTR fingerprint is written for people: 40 upper-case hex digits, shown as five groups of eight.
// String-only (no crypto), so the UI may import it.

/** Accepts any case, with or without whitespace; returns 40 upper-case hex digits or null. */
export function normalizeFingerprint(fp: string): string | null {
  const h = fp.replace(/\s+/g, '');
  return /^[0-9a-fA-F]{40}$/.test(h) ? h.toUpperCase() : null;
}

/**
 * Five groups of eight upper-case hex digits, the form OTR users read aloud. Anything that is not 40 hex
 * digits comes back as one group (whitespace removed, upper-cased) rather than being guessed at.
 */
export function fingerprintGroups(fp: string): string[] {
  const h = normalizeFingerprint(fp);
  if (h === null) return [fp.replace(/\s+/g, '').toUpperCase()];
  return h.match(/.{8}/g)!;
}

/**
 * "0BB01C36 0424522E ...": fingerprint bytes (must be 20, RangeError otherwise) or hex text (any case and
 * spacing; text that is not a fingerprint is shown as given, see fingerprintGroups).
 */
export function fingerprintHuman(fp: Uint8Array | string): string {
  if (typeof fp !== 'string') {
    if (fp.length !== 20) throw new RangeError('fingerprint must be 20 bytes');
    fp = Buffer.from(fp.buffer, fp.byteOffset, fp.byteLength).toString('hex');
  }
  return fingerprintGroups(fp).join(' ');
}
