// Test doubles for the SIP layer: a negotiator with fixed SDP (the real SDP is the MSRP layer's job)
// and small waiting helpers with timeouts, so a broken test fails instead of hanging.
import type { EventEmitter } from 'node:events';
import type { MediaNegotiator } from '../../src/sip/sdh.js';

export function fakeSdp(port: number, tag: string): string {
  return [
    'v=0',
    `o=- ${port} 1 IN IP4 127.0.0.1`,
    `s=${tag}`,
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=message ${port} TCP/MSRP *`,
    'a=accept-types:message/cpim text/plain',
    `a=path:msrp://127.0.0.1:${port}/${tag};tcp`,
    '',
  ].join('\r\n');
}

export class FakeNegotiator implements MediaNegotiator {
  readonly calls: string[] = [];
  remoteAnswer: string | undefined;
  remoteOffer: string | undefined;
  closed = 0;
  constructor(
    readonly sdp: string,
    private readonly failWith?: Error,
  ) {}
  async createOffer(): Promise<string> {
    this.calls.push('createOffer');
    if (this.failWith) throw this.failWith;
    return this.sdp;
  }
  async applyAnswer(sdp: string): Promise<void> {
    this.calls.push('applyAnswer');
    this.remoteAnswer = sdp;
  }
  async createAnswer(offer: string): Promise<string> {
    this.calls.push('createAnswer');
    if (this.failWith) throw this.failWith;
    this.remoteOffer = offer;
    return this.sdp;
  }
  close(): void {
    this.closed++;
  }
}

export function waitEvent<T extends unknown[]>(emitter: EventEmitter, name: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`timed out after ${ms} ms waiting for '${name}'`));
    }, ms);
    const on = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    emitter.once(name, on);
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
