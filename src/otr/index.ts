/** Public surface of the OTR engine. Everything else in src/otr is internal. */
export { OtrSession, DEFAULT_QUERY_TEXT } from './session.js';
export type { OtrSessionOptions, OtrEvent, MessageState, ExtraSymmetricKey } from './session.js';
export { DEFAULT_POLICY, ALWAYS_POLICY } from './policy.js';
export type { OtrPolicy } from './policy.js';
export { OtrProtocolError } from './errors.js';
export type { OtrErrorCode } from './errors.js';
export type { Tlv } from './tlv.js';
export type { SmpEvent } from './smp.js';
export {
  TLV_PADDING,
  TLV_DISCONNECTED,
  TLV_SMP1,
  TLV_SMP2,
  TLV_SMP3,
  TLV_SMP4,
  TLV_SMP_ABORT,
  TLV_SMP1Q,
  TLV_EXTRA_KEY,
} from './tlv.js';
// The session's key type; everything else about DSA keys (generation, PUBKEY, fingerprints) is src/keys.
export type { DsaKeyParams, DsaPublicKey } from '../keys/dsa-key.js';
export { warmUpOtr } from './warm-up.js';
