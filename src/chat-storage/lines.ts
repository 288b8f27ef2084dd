// Splits a hand-edited file into lines that can be written back byte for byte: each line's exact bytes,
// its text, and its own line ending ('\n', '\r\n' or '' for a last line without one).
export interface RawLine {
  raw: string;
  bytes: Buffer;
  eol: string;
}

export function* splitRawLines(data: Buffer, start = 0): Generator<RawLine> {
  let pos = start;
  while (pos < data.length) {
    const nl = data.indexOf(0x0a, pos);
    let end = nl < 0 ? data.length : nl;
    let eol = nl < 0 ? '' : '\n';
    if (end > pos && data[end - 1] === 0x0d) {
      end--;
      eol = '\r' + eol;
    }
    const bytes = data.subarray(pos, end);
    pos = nl < 0 ? data.length : nl + 1;
    yield { raw: bytes.toString('utf8'), bytes, eol };
  }
}
