// Where to send a request for a SIP URI (a reduced RFC 3263: no NAPTR; SRV when no port is given).
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { SipTransportError } from './errors.js';
import type { SipUri } from './wire.js';

export type SipTransportProtocol = 'udp' | 'tcp' | 'tls';

export interface Destination {
  readonly address: string;
  readonly port: number;
}

export type HostResolver = (uri: SipUri, protocol: SipTransportProtocol, family: 4 | 6) => Promise<Destination>;

export function defaultPort(protocol: SipTransportProtocol, scheme: 'sip' | 'sips'): number {
  return protocol === 'tls' || scheme === 'sips' ? 5061 : 5060;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export const resolveSipUri: HostResolver = async (uri, protocol, family) => {
  const maddr = uri.params.get('maddr');
  const host = stripBrackets(maddr !== undefined && maddr !== '' ? maddr : uri.host);
  if (isIP(host) !== 0) return { address: host, port: uri.port ?? defaultPort(protocol, uri.scheme) };
  if (uri.port === undefined) {
    const service =
      protocol === 'tls' || uri.scheme === 'sips' ? '_sips._tcp' : protocol === 'tcp' ? '_sip._tcp' : '_sip._udp';
    try {
      const records = await dns.resolveSrv(`${service}.${host}`);
      records.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
      for (const rec of records) {
        try {
          const { address } = await dns.lookup(rec.name, { family });
          return { address, port: rec.port };
        } catch {
          // try the next SRV target
        }
      }
    } catch {
      // no SRV records: fall back to an address lookup of the host itself (RFC 3263 4.2)
    }
  }
  try {
    const { address } = await dns.lookup(host, { family });
    return { address, port: uri.port ?? defaultPort(protocol, uri.scheme) };
  } catch (err) {
    throw new SipTransportError(`cannot resolve SIP host ${host}: ${(err as Error).message}`, { cause: err });
  }
};
