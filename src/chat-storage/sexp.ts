import { FormatError } from './errors.js';

/** An s-expression as libgcrypt prints it: lists of atoms; atoms are raw bytes. */
export type Sexp = Uint8Array | Sexp[];

const MAX_DEPTH = 64;
const MAX_INPUT = 1 << 20;

/**
 * Parses the "advanced" transport format libgcrypt writes (libotr's otr.private_key): tokens, "quoted strings",
 * #hex#, |base64| and length-prefixed `N:bytes`. Returns the top-level expressions.
 */
export function parseSexp(input: Uint8Array | string): Sexp[] {
  const buf =
    typeof input === 'string'
      ? Buffer.from(input, 'utf8')
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length > MAX_INPUT) throw new FormatError(`s-expression input of ${buf.length} bytes is too large`);
  let i = 0;
  const stack: Sexp[][] = [[]];
  const err = (m: string): never => {
    throw new FormatError(`s-expression: ${m} at byte ${i}`);
  };
  const push = (a: Sexp) => stack[stack.length - 1]!.push(a);
  const isTokenChar = (c: number) =>
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    '-./_:*+='.includes(String.fromCharCode(c));
  while (i < buf.length) {
    const c = buf[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) {
      i++;
    } else if (c === 0x28) {
      if (stack.length > MAX_DEPTH) err('nested too deeply');
      stack.push([]);
      i++;
    } else if (c === 0x29) {
      if (stack.length === 1) err('unbalanced ")"');
      const list = stack.pop()!;
      push(list);
      i++;
    } else if (c === 0x23) {
      const end = buf.indexOf(0x23, i + 1);
      if (end < 0) err('unterminated #hex#');
      const hex = buf
        .subarray(i + 1, end)
        .toString('latin1')
        .replace(/\s+/g, '');
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) err('bad hex string');
      push(Uint8Array.from(Buffer.from(hex, 'hex')));
      i = end + 1;
    } else if (c === 0x7c) {
      const end = buf.indexOf(0x7c, i + 1);
      if (end < 0) err('unterminated |base64|');
      const b64 = buf
        .subarray(i + 1, end)
        .toString('latin1')
        .replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) err('bad base64 string');
      push(Uint8Array.from(Buffer.from(b64, 'base64')));
      i = end + 1;
    } else if (c === 0x22) {
      i++;
      const out: number[] = [];
      for (;;) {
        if (i >= buf.length) err('unterminated string');
        const d = buf[i]!;
        if (d === 0x22) {
          i++;
          break;
        }
        if (d === 0x5c) {
          const e = buf[i + 1];
          if (e === undefined) err('unterminated escape');
          const simple: Record<number, number> = {
            0x6e: 10,
            0x74: 9,
            0x72: 13,
            0x62: 8,
            0x66: 12,
            0x76: 11,
            0x22: 0x22,
            0x27: 0x27,
            0x5c: 0x5c,
          };
          if (simple[e!] !== undefined) {
            out.push(simple[e!]!);
            i += 2;
          } else if (e === 0x78) {
            const h = buf.subarray(i + 2, i + 4).toString('latin1');
            if (!/^[0-9a-fA-F]{2}$/.test(h)) err('bad \\x escape');
            out.push(parseInt(h, 16));
            i += 4;
          } else if (e! >= 0x30 && e! <= 0x37) {
            const o = buf.subarray(i + 1, i + 4).toString('latin1');
            if (!/^[0-7]{3}$/.test(o)) err('bad octal escape');
            out.push(parseInt(o, 8) & 0xff);
            i += 4;
          } else if (e === 0x0a || e === 0x0d) {
            // Line continuation.
            i += 2;
            if (e === 0x0d && buf[i] === 0x0a) i++;
          } else {
            err('unknown escape');
          }
          continue;
        }
        out.push(d);
        i++;
      }
      push(Uint8Array.from(out));
    } else if (c >= 0x30 && c <= 0x39) {
      // Either `N:bytes` (verbatim) or a token starting with a digit.
      let j = i;
      while (j < buf.length && buf[j]! >= 0x30 && buf[j]! <= 0x39) j++;
      if (buf[j] === 0x3a) {
        const n = Number(buf.subarray(i, j).toString('latin1'));
        if (!Number.isSafeInteger(n) || j + 1 + n > buf.length) err('verbatim length runs past the end');
        push(Uint8Array.from(buf.subarray(j + 1, j + 1 + n)));
        i = j + 1 + n;
      } else {
        while (j < buf.length && isTokenChar(buf[j]!)) j++;
        push(Uint8Array.from(buf.subarray(i, j)));
        i = j;
      }
    } else if (isTokenChar(c)) {
      let j = i;
      while (j < buf.length && isTokenChar(buf[j]!)) j++;
      push(Uint8Array.from(buf.subarray(i, j)));
      i = j;
    } else {
      err(`unexpected character 0x${c.toString(16)}`);
    }
  }
  if (stack.length !== 1) throw new FormatError('s-expression: missing ")" at end of input');
  return stack[0]!;
}

export function atomText(a: Sexp | undefined): string | null {
  return a instanceof Uint8Array ? Buffer.from(a).toString('utf8') : null;
}

/** The first sub-list of `list` whose head atom is `name`. */
export function findList(list: Sexp, name: string): Sexp[] | null {
  if (!Array.isArray(list)) return null;
  for (const item of list) if (Array.isArray(item) && atomText(item[0]) === name) return item;
  return null;
}
