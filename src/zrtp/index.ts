// The public surface of the ZRTP engine: import only from here outside src/zrtp.
export {
  ZrtpEngine,
  ZRTP_VERSION,
  ERROR_CODES,
  type ZrtpEngineOptions,
  type ZrtpEvent,
  type ZrtpSecure,
  type SrtpKeys,
  type Phase,
} from './engine.js';
export { MemoryZidCache, matchRetainedSecret, type ZidCachePort, type ZidRecord, type CacheResult } from './cache.js';
export { DEFAULT_ALGORITHMS, type AlgorithmLists, type Chosen } from './algorithms.js';
export { ZrtpError, type ZrtpErrorCode } from './errors.js';
export { looksLikeZrtp, parsePacket, type Packet, type Message, type MessageType } from './packet.js';
export { renderB32, renderB256 } from './sas.js';
export { parseZrtpHashAttribute, formatZrtpHashAttribute } from './sdp.js';
