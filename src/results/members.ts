import * as zlib from 'node:zlib';

/** One complete gzip member: where it ends in the file and what it decompresses to. */
export interface GzipMember {
  end: number;
  data: Buffer;
}

export interface GzipMembers {
  members: GzipMember[];
  /** Bytes of the file held by complete members; anything after is damaged. */
  goodBytes: number;
  /** Why the bytes after `goodBytes` are unreadable (undefined when there are none). */
  damage?: string;
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/** Offset of a member's deflate data, or a reason it has no valid header at `pos`. */
function headerEnd(buf: Buffer, pos: number): number | string {
  if (buf.length - pos < 10) return 'a truncated gzip header';
  if (buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b || buf[pos + 2] !== 8) return 'no gzip header';
  const flags = buf[pos + 3];
  let p = pos + 10;
  if (flags & FEXTRA) p += 2 + (p + 2 <= buf.length ? buf.readUInt16LE(p) : 0);
  for (const f of [FNAME, FCOMMENT]) {
    if (!(flags & f)) continue;
    const zero = buf.indexOf(0, p);
    if (zero < 0) return 'a truncated gzip header';
    p = zero + 1;
  }
  if (flags & FHCRC) p += 2;
  return p <= buf.length ? p : 'a truncated gzip header';
}

/**
 * Splits a gzip file into its members, one after the other, keeping every complete one (inflated,
 * with its CRC-32 and length checked). A crash mid-append leaves a damaged last member: it is
 * reported in `damage`, not thrown, so a reader keeps everything before it.
 */
export function gzipMembers(buf: Buffer): GzipMembers {
  const members: GzipMember[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = headerEnd(buf, pos);
    const fail = (why: string): GzipMembers => ({ members, goodBytes: pos, damage: `${why} at byte ${pos} (member ${members.length + 1})` });
    if (typeof start === 'string') return fail(start);
    let data: Buffer;
    let consumed: number;
    try {
      // a raw inflate stops at the end of the member's deflate stream and says how much it read
      const r = zlib.inflateRawSync(buf.subarray(start), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      data = r.buffer;
      consumed = r.engine.bytesWritten;
    } catch (e) {
      return fail(`a damaged gzip member (${(e as Error).message})`);
    }
    const trailer = start + consumed;
    if (trailer + 8 > buf.length) return fail('a gzip member without its trailer');
    // zlib.crc32 is in Node >= 20.15; older ones check the length alone
    const crc = zlib.crc32?.(data);
    if ((crc !== undefined && buf.readUInt32LE(trailer) !== crc >>> 0) || buf.readUInt32LE(trailer + 4) !== data.length % 2 ** 32) {
      return fail('a gzip member whose CRC or length does not match');
    }
    pos = trailer + 8;
    members.push({ end: pos, data });
  }
  return { members, goodBytes: pos };
}
