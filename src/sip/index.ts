// The SIP layer's public face for the chat orchestrator and cli.ts; everything else in src/sip is internal
// (tests import the files directly).
// The user agent: listen, register, place and take calls.
export { SipUserAgent } from './ua.js';
export { findFreePort } from './free-port.js';
// Calls, and the seam through which the layer above writes and reads their SDP.
export type { IncomingCall, ReinviteResult, SipCall } from './call.js';
export type { MediaNegotiator } from './sdh.js';
