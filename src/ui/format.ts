// Small pure formatters shared by the views.

export function hhmm(time: number): string {
  const d = new Date(time);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/**
 * Splits an OTR fingerprint into five groups of eight hex digits, the form OTR users read aloud.
 * Anything that is not 40 hex digits is shown as given (upper-cased) rather than guessed at.
 */
export function fingerprintGroups(fp: string): string[] {
  const hex = fp.replace(/\s+/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex)) return [hex];
  const out: string[] = [];
  for (let i = 0; i < 40; i += 8) out.push(hex.slice(i, i + 8));
  return out;
}

export function groupedFingerprint(fp: string): string {
  return fingerprintGroups(fp).join(' ');
}

/** "sip:alice@example.org:5060" -> "alice@example.org:5060": the scheme is noise in a status line. */
export function shortUri(uri: string): string {
  return uri.replace(/^sips?:/i, '');
}
