// SDP rules every media layer writes the same way (RFC 8866). A leaf: the MSRP, RTP and session layers compose
// their own lines and import only this.

/** The address type of an o= or c= line: an IPv6 literal has colons, anything else (IPv4, a host name) is IP4. */
export function addressType(host: string): 'IP4' | 'IP6' {
  return host.includes(':') ? 'IP6' : 'IP4';
}
