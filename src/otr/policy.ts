/** OTR policies (spec "Policies"). Version 1 is not supported at all. */
export interface OtrPolicy {
  allowV2: boolean;
  allowV3: boolean;
  requireEncryption: boolean;
  sendWhitespaceTag: boolean;
  whitespaceStartAke: boolean;
  errorStartAke: boolean;
}

/** Opportunistic: advertise with the whitespace tag, start the AKE on a tag or an error, never force encryption. */
export const DEFAULT_POLICY: OtrPolicy = Object.freeze({
  allowV2: true,
  allowV3: true,
  requireEncryption: false,
  sendWhitespaceTag: true,
  whitespaceStartAke: true,
  errorStartAke: true,
});

/** Encryption required: plaintext is never sent. */
export const ALWAYS_POLICY: OtrPolicy = Object.freeze({
  allowV2: true,
  allowV3: true,
  requireEncryption: true,
  sendWhitespaceTag: false,
  whitespaceStartAke: true,
  errorStartAke: true,
});

export function otrEnabled(p: OtrPolicy): boolean {
  return p.allowV2 || p.allowV3;
}
