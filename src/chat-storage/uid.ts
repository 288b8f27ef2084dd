/**
 * A peer's address of record as stored in every file: `user@domain`, no `sip:`/`sips:`, no parameters,
 * domain in lower case (SIP user parts are case-sensitive, host names are not).
 */
export function normalizeUid(uid: string): string {
  let u = uid.trim().normalize('NFC');
  const angle = /<([^>]*)>/.exec(u);
  if (angle) u = angle[1]!;
  u = u.replace(/^sips?:/i, '');
  u = u.split(';')[0]!;
  const at = u.lastIndexOf('@');
  if (at < 0) return u.toLowerCase();
  return u.slice(0, at) + '@' + u.slice(at + 1).toLowerCase();
}
