// Small pure formatters shared by the views.

export function hhmm(time: number): string {
  const d = new Date(time);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "sip:alice@example.org:5060" -> "alice@example.org:5060": the scheme is noise in a status line. */
export function shortUri(uri: string): string {
  return uri.replace(/^sips?:/i, '');
}
