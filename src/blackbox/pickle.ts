/**
 * A strict reader for Python pickles of plain data (protocols 2 to 5): dicts, lists, str, float,
 * int, bool and None — what `pickle.dump` writes for a dict of lists of floats. It is a data parser,
 * not an unpickler: the opcodes that name or call Python objects (GLOBAL, STACK_GLOBAL, REDUCE,
 * BUILD, INST, OBJ, NEWOBJ, persistent ids, extension codes) and every opcode not listed below are
 * refused with an error naming the opcode and its offset, so nothing is ever executed or looked up.
 * A stream that ends before its STOP, or has bytes after it, is an error too.
 */

/** A value of a plain-data pickle: a dict becomes a Map (it keeps the pickle's key order). */
export type PickleValue = null | boolean | number | string | PickleValue[] | Map<PickleValue, PickleValue>;

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** Opcodes that reference or call Python objects: named in the refusal. */
const CODE_OPCODES: Record<number, string> = {
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x52: 'REDUCE',
  0x62: 'BUILD',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
};

/** Parses one pickle that holds plain data only; throws a PickleError on anything else. */
export function readPickle(bytes: Uint8Array): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const n = bytes.length;
  let pos = 0;
  // MARK starts a new stack; the opcodes that consume up to the MARK take it whole and restore the outer one
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo: PickleValue[] = [];

  const fail = (what: string): never => {
    throw new PickleError(`pickle: ${what}`);
  };
  const need = (k: number, what: string) => {
    if (k > n - pos) fail(`truncated: ${what} at byte ${pos} needs ${k} bytes, the data ends at byte ${n}`);
  };
  const u8 = (what: string) => (need(1, what), bytes[pos++]);
  const u32 = (what: string) => {
    need(4, what);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (what: string) => {
    need(8, what);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} length ${v} is too large`);
    return Number(v);
  };
  const str = (len: number, what: string) => {
    need(len, what);
    try {
      return utf8.decode(bytes.subarray(pos, (pos += len)));
    } catch {
      return fail(`${what} at byte ${pos - len} is not valid UTF-8`);
    }
  };
  const pop = (what: string): PickleValue => {
    if (stack.length === 0) fail(`${what} at byte ${pos - 1} on an empty stack`);
    return stack.pop()!;
  };
  const top = (what: string): PickleValue => {
    if (stack.length === 0) fail(`${what} at byte ${pos - 1} has no object to act on`);
    return stack[stack.length - 1];
  };
  /** the items pushed since the last MARK, which is removed */
  const popMark = (what: string): PickleValue[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) fail(`${what} at byte ${pos - 1} without a MARK`);
    stack = outer!;
    return items;
  };
  const list = (v: PickleValue, what: string): PickleValue[] => (Array.isArray(v) ? v : fail(`${what} at byte ${pos - 1} on a ${typeName(v)}, not a list`));
  const dict = (v: PickleValue, what: string): Map<PickleValue, PickleValue> => (v instanceof Map ? v : fail(`${what} at byte ${pos - 1} on a ${typeName(v)}, not a dict`));
  const key = (k: PickleValue, what: string): PickleValue => (k !== null && typeof k === 'object' ? fail(`${what} at byte ${pos - 1}: unhashable ${typeName(k)} key`) : k);

  if (n < 2 || bytes[0] !== 0x80) fail('not a pickle of protocol 2 or later (it must start with the PROTO opcode 0x80)');
  for (;;) {
    const at = pos;
    if (pos === n) fail(`truncated: the data ends at byte ${n} before the STOP opcode`);
    const op = bytes[pos++];
    switch (op) {
      case 0x80: {
        // PROTO
        const version = u8('PROTO');
        if (version < 2 || version > 5) fail(`unsupported protocol ${version} (2 to 5 are read)`);
        break;
      }
      case 0x95: {
        // FRAME: a length prefix for the opcodes that follow; they are read as usual
        const len = u64('FRAME');
        need(len, 'FRAME');
        break;
      }
      case 0x2e: {
        // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`STOP at byte ${at} with ${stack.length} values and ${marks.length} open MARKs on the stack (expected one value)`);
        if (pos !== n) fail(`${n - pos} bytes after STOP at byte ${at}`);
        return stack[0];
      }
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8('BININT1'));
        break;
      case 0x4d: {
        // BININT2
        need(2, 'BININT2');
        stack.push(view.getUint16(pos, true));
        pos += 2;
        break;
      }
      case 0x4a: {
        // BININT
        need(4, 'BININT');
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      }
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const len = u8('LONG1');
        need(len, 'LONG1');
        let v = 0n;
        for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[pos + i]);
        if (len > 0 && bytes[pos + len - 1] & 0x80) v -= 1n << BigInt(8 * len);
        pos += len;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail(`the integer ${v} at byte ${at} is beyond 2^53`);
        stack.push(Number(v));
        break;
      }
      case 0x47: {
        // BINFLOAT: big-endian IEEE 754 double
        need(8, 'BINFLOAT');
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(u8('SHORT_BINUNICODE'), 'SHORT_BINUNICODE'));
        break;
      case 0x58: // BINUNICODE
        stack.push(str(u32('BINUNICODE'), 'BINUNICODE'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64('BINUNICODE8'), 'BINUNICODE8'));
        break;
      case 0x94: // MEMOIZE
        memo.push(top('MEMOIZE'));
        break;
      case 0x71: // BINPUT
      case 0x72: {
        // LONG_BINPUT
        const i = op === 0x71 ? u8('BINPUT') : u32('LONG_BINPUT');
        memo[i] = top(op === 0x71 ? 'BINPUT' : 'LONG_BINPUT');
        break;
      }
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8('BINGET') : u32('LONG_BINGET');
        if (!(i in memo)) fail(`${op === 0x68 ? 'BINGET' : 'LONG_BINGET'} at byte ${at} of the unknown memo entry ${i}`);
        stack.push(memo[i]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop('APPEND');
        list(top('APPEND'), 'APPEND').push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark('APPENDS');
        const target = list(top('APPENDS'), 'APPENDS');
        for (const v of items) target.push(v);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop('SETITEM');
        const k = key(pop('SETITEM'), 'SETITEM');
        dict(top('SETITEM'), 'SETITEM').set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark('SETITEMS');
        if (items.length % 2) fail(`SETITEMS at byte ${at} with an odd number of items`);
        const target = dict(top('SETITEMS'), 'SETITEMS');
        for (let i = 0; i < items.length; i += 2) target.set(key(items[i], 'SETITEMS'), items[i + 1]);
        break;
      }
      default: {
        const name = CODE_OPCODES[op];
        if (name) fail(`refused opcode ${name} at byte ${at}: it names or calls a Python object, and only plain data (dict, list, str, float, int) is read`);
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} (only plain data of protocols 2 to 5 is read: dict, list, str, float, int)`);
      }
    }
  }
}

function typeName(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Map) return 'dict';
  return typeof v === 'number' ? 'number' : typeof v === 'string' ? 'str' : 'bool';
}
