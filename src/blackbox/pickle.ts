/**
 * A reader for Python pickles, written by hand so that public benchmark tables are read without
 * Python. It is a data parser, not an unpickler: nothing named in a pickle is ever looked up or
 * called. Two modes:
 * - `plain` (the default): plain data of protocols 2 to 5, i.e. what `pickle.dump` writes for dicts,
 *   lists, str, float, int, bool and None. The opcodes that name or call Python objects (GLOBAL,
 *   STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, persistent ids, extension codes) and every other
 *   opcode are refused with an error naming the opcode and its offset.
 * - `objects`: protocols 0 to 5, also with tuples (PyTuple), sets (Set), bytes (Uint8Array),
 *   `collections.OrderedDict` (Map), and objects of other classes (REDUCE, NEWOBJ, BUILD) as
 *   `PyObject` records (class name, constructor arguments, state), so that callers can say what they
 *   met. INST, OBJ, NEWOBJ_EX, persistent ids and extension codes are not read.
 * In both, a stream that ends before its STOP, or has bytes after it, is an error; a dict becomes a
 * Map in the pickle's key order (a tuple key becomes its `tupleKey` string); an int past 2^53 a bigint.
 */

/** A value of a plain-data pickle. */
export type PickleValue = null | boolean | number | bigint | string | PickleValue[] | Map<PickleValue, PickleValue>;
export type PickleMode = 'plain' | 'objects';

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

export class PyTuple extends Array<unknown> {}
export interface PyObject {
  pyClass: string;
  args: unknown[];
  state?: unknown;
}
interface PyGlobal {
  pyGlobal: string;
}

/** The Map key of a Python tuple key, e.g. ('cifar10', 777) → '["cifar10",777]'. */
export const tupleKey = (...items: unknown[]) => JSON.stringify(items);

/** Looks up a Python dict read by `readPickle`, with tuple keys given as arrays. */
export function pyGet(dict: unknown, key: unknown): unknown {
  if (!(dict instanceof Map)) throw new Error(`expected a dict, got ${describe(dict)}`);
  return dict.get(Array.isArray(key) ? tupleKey(...key) : key);
}

/** A read value in words, for error messages: "a dict", "a list of 3", "the str \"abc\"". */
export function describe(v: unknown): string {
  if (v instanceof Map) return 'a dict';
  if (v instanceof PyTuple) return `a tuple of ${v.length}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof Set) return `a set of ${v.size}`;
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (v && typeof v === 'object' && 'pyClass' in v) return `an object of class ${(v as PyObject).pyClass}`;
  if (v === null) return 'None';
  return typeof v === 'string' ? `the str ${JSON.stringify(v.slice(0, 40))}` : `the ${typeof v} ${String(v)}`;
}

/** Opcodes that reference or call Python objects: named in the refusal of the plain mode. */
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

/** What the plain mode reads: PROTO, FRAME, STOP, MARK, dicts, lists, None, bools, ints, floats, str, memo, appends, set items. */
const PLAIN_OPCODES = new Set([
  0x80, 0x95, 0x2e, 0x28, 0x7d, 0x5d, 0x4e, 0x88, 0x89, 0x4b, 0x4d, 0x4a, 0x8a, 0x47, 0x8c, 0x58, 0x8d, 0x94, 0x71, 0x72, 0x68, 0x6a, 0x61, 0x65, 0x73, 0x75,
]);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const toInt = (v: bigint): number | bigint => (v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v);

/** Protocol 0's UNICODE text is raw-unicode-escape: latin-1 with \uXXXX and \UXXXXXXXX escapes (a backslash itself is \u005c). */
const rawUnicodeEscape = (s: string) => s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u: string | undefined, U: string | undefined) => String.fromCodePoint(parseInt(u ?? U!, 16)));

/** Parses one pickle; throws a PickleError on anything the mode does not read. */
export function readPickle(bytes: Uint8Array, mode?: 'plain'): PickleValue;
export function readPickle(bytes: Uint8Array, mode: 'objects'): unknown;
export function readPickle(bytes: Uint8Array, mode: PickleMode = 'plain'): unknown {
  const plain = mode === 'plain';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  const n = bytes.length;
  let pos = 0;
  // MARK starts a new stack; the opcodes that consume up to the MARK take it whole and restore the outer one
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (what: string): never => {
    throw new PickleError(`pickle: ${what}`);
  };
  const need = (k: number, what: string) => {
    if (k > n - pos) fail(`truncated: ${what} at byte ${pos} needs ${k} bytes, the data ends at byte ${n}`);
  };
  const u8 = (what: string) => (need(1, what), bytes[pos++]);
  const u16 = (what: string) => {
    need(2, what);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
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
    if (v > MAX_SAFE) fail(`${what} length ${v} is too large`);
    return Number(v);
  };
  const take = (len: number, what: string) => {
    need(len, what);
    return bytes.subarray(pos, (pos += len));
  };
  const str = (len: number, what: string) => {
    const b = take(len, what);
    try {
      return utf8.decode(b);
    } catch {
      return fail(`${what} at byte ${pos - len} is not valid UTF-8`);
    }
  };
  /** a text argument of protocol 0, up to its newline */
  const line = (what: string) => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated: ${what} at byte ${pos} has no end of line before the data ends at byte ${n}`);
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const long = (b: Uint8Array): number | bigint => {
    // little-endian two's complement
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return toInt(v);
  };
  const pop = (what: string): unknown => {
    if (stack.length === 0) fail(`${what} at byte ${pos - 1} on an empty stack`);
    return stack.pop();
  };
  const top = (what: string): unknown => {
    if (stack.length === 0) fail(`${what} at byte ${pos - 1} has no object to act on`);
    return stack[stack.length - 1];
  };
  /** the items pushed since the last MARK, which is removed */
  const popMark = (what: string): unknown[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) fail(`${what} at byte ${pos - 1} without a MARK`);
    stack = outer!;
    return items;
  };
  const key = (k: unknown, what: string): unknown => {
    if (k instanceof PyTuple) return tupleKey(...k);
    if (Array.isArray(k) || k instanceof Map) fail(`${what} at byte ${pos - 1}: unhashable key, ${describe(k)}`);
    return k;
  };
  const setItems = (dict: unknown, items: unknown[], what: string) => {
    if (!(dict instanceof Map)) return fail(`${what} at byte ${pos - 1} on ${describe(dict)}, not a dict`);
    if (items.length % 2) fail(`${what} at byte ${pos - 1} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) dict.set(key(items[i], what), items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[], what: string) => {
    if (Array.isArray(target) && !(target instanceof PyTuple)) for (const v of items) target.push(v);
    else if (target instanceof Set) for (const v of items) target.add(key(v, what));
    else fail(`${what} at byte ${pos - 1} on ${describe(target)}, not a list`);
  };
  const tuple = (items: unknown[]) => {
    const t = new PyTuple();
    t.push(...items);
    return Object.freeze(t);
  };
  /** REDUCE and NEWOBJ: a dict or set is built, any other class becomes a record of the call */
  const call = (fn: unknown, args: unknown, what: string): unknown => {
    if (!(args instanceof PyTuple)) return fail(`${what} at byte ${pos - 1} with ${describe(args)} as arguments, not a tuple`);
    const name = (fn as PyGlobal | null)?.pyGlobal;
    if (name === 'collections.OrderedDict' || name === 'builtins.dict' || name === '__builtin__.dict') {
      const m = new Map();
      // Python 2's OrderedDict passes its items as a list of pairs; Python 3 sets them after the call
      if (Array.isArray(args[0])) for (const pair of args[0] as unknown[][]) m.set(key(pair[0], what), pair[1]);
      return m;
    }
    if (name && /^(builtins|__builtin__)\.(frozen)?set$/.test(name)) return new Set(((args[0] as unknown[] | undefined) ?? []).map((v) => key(v, what)));
    return { pyClass: name ?? describe(fn), args: [...args] } satisfies PyObject;
  };

  if (plain && (n < 2 || bytes[0] !== 0x80)) fail('not a pickle of protocol 2 or later (it must start with the PROTO opcode 0x80)');
  for (;;) {
    const at = pos;
    if (pos === n) fail(`truncated: the data ends at byte ${n} before the STOP opcode`);
    const op = bytes[pos++];
    if (plain && !PLAIN_OPCODES.has(op)) {
      const name = CODE_OPCODES[op];
      if (name) fail(`refused opcode ${name} at byte ${at}: it names or calls a Python object, and only plain data (dict, list, str, float, int) is read`);
      fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} (only plain data of protocols 2 to 5 is read: dict, list, str, float, int)`);
    }
    switch (op) {
      case 0x80: {
        // PROTO
        const version = u8('PROTO');
        if (version < 2 || version > 5) fail(`unsupported protocol ${version} (2 to 5 are read)`);
        break;
      }
      case 0x95: // FRAME: a length prefix for the opcodes that follow; they are read as usual
        need(u64('FRAME'), 'FRAME');
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`STOP at byte ${at} with ${stack.length} values and ${marks.length} open MARKs on the stack (expected one value)`);
        if (pos !== n) fail(`${n - pos} bytes after STOP at byte ${at}`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop('POP');
        break;
      case 0x31: // POP_MARK
        popMark('POP_MARK');
        break;
      case 0x32: // DUP
        stack.push(top('DUP'));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x64: {
        // DICT
        const m = new Map();
        setItems(m, popMark('DICT'), 'DICT');
        stack.push(m);
        break;
      }
      case 0x6c: // LIST
      case 0x74: // TUPLE
      case 0x91: {
        // FROZENSET
        // popped before the push: popMark replaces `stack`
        const items = popMark(op === 0x6c ? 'LIST' : op === 0x74 ? 'TUPLE' : 'FROZENSET');
        stack.push(op === 0x6c ? items : op === 0x74 ? tuple(items) : new Set(items.map((v) => key(v, 'FROZENSET'))));
        break;
      }
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const k = op - 0x84;
        if (stack.length < k) fail(`TUPLE${k} at byte ${at} on a stack of ${stack.length}`);
        stack.push(tuple(stack.splice(stack.length - k, k)));
        break;
      }
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
      case 0x4d: // BININT2
        stack.push(u16('BININT2'));
        break;
      case 0x4a: // BININT
        need(4, 'BININT');
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8('LONG1'), 'LONG1')));
        break;
      case 0x8b: // LONG4
        stack.push(long(take(u32('LONG4'), 'LONG4')));
        break;
      case 0x49: {
        // INT (text; '01' and '00' are True and False in protocol 0)
        const s = line('INT');
        stack.push(s === '01' ? true : s === '00' ? false : toInt(BigInt(s)));
        break;
      }
      case 0x4c: // LONG (text, '123L' in Python 2)
        stack.push(toInt(BigInt(line('LONG').replace(/L$/, ''))));
        break;
      case 0x47: // BINFLOAT: big-endian IEEE 754 double
        need(8, 'BINFLOAT');
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT (text: Python's repr, which spells infinity 'inf')
        stack.push(Number(line('FLOAT').replace(/inf$/, 'Infinity')));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(u8('SHORT_BINUNICODE'), 'SHORT_BINUNICODE'));
        break;
      case 0x58: // BINUNICODE
        stack.push(str(u32('BINUNICODE'), 'BINUNICODE'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64('BINUNICODE8'), 'BINUNICODE8'));
        break;
      case 0x56: // UNICODE (text)
        stack.push(rawUnicodeEscape(line('UNICODE')));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(latin1.decode(take(u8('SHORT_BINSTRING'), 'SHORT_BINSTRING')));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(take(u32('BINSTRING'), 'BINSTRING')));
        break;
      case 0x53: // STRING (quoted text)
        stack.push(line('STRING').slice(1, -1));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Uint8Array.from(take(u8('SHORT_BINBYTES'), 'SHORT_BINBYTES')));
        break;
      case 0x42: // BINBYTES
        stack.push(Uint8Array.from(take(u32('BINBYTES'), 'BINBYTES')));
        break;
      case 0x8e: // BINBYTES8
        stack.push(Uint8Array.from(take(u64('BINBYTES8'), 'BINBYTES8')));
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top('MEMOIZE'));
        break;
      case 0x71: // BINPUT
        memo.set(u8('BINPUT'), top('BINPUT'));
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32('LONG_BINPUT'), top('LONG_BINPUT'));
        break;
      case 0x70: // PUT (text)
        memo.set(Number(line('PUT')), top('PUT'));
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET (text)
        const i = op === 0x68 ? u8('BINGET') : op === 0x6a ? u32('LONG_BINGET') : Number(line('GET'));
        if (!memo.has(i)) fail(`${op === 0x68 ? 'BINGET' : op === 0x6a ? 'LONG_BINGET' : 'GET'} at byte ${at} of the unknown memo entry ${i}`);
        stack.push(memo.get(i));
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop('APPEND');
        appendItems(top('APPEND'), [v], 'APPEND');
        break;
      }
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS
        const what = op === 0x65 ? 'APPENDS' : 'ADDITEMS';
        const items = popMark(what);
        appendItems(top(what), items, what);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop('SETITEM');
        const k = pop('SETITEM');
        setItems(top('SETITEM'), [k, v], 'SETITEM');
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark('SETITEMS');
        setItems(top('SETITEMS'), items, 'SETITEMS');
        break;
      }
      case 0x63: {
        // GLOBAL: the name only, never looked up
        const module = line('GLOBAL');
        stack.push({ pyGlobal: `${module}.${line('GLOBAL')}` } satisfies PyGlobal);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop('STACK_GLOBAL');
        stack.push({ pyGlobal: `${String(pop('STACK_GLOBAL'))}.${String(name)}` } satisfies PyGlobal);
        break;
      }
      case 0x52: // REDUCE
      case 0x81: {
        // NEWOBJ
        const what = op === 0x52 ? 'REDUCE' : 'NEWOBJ';
        const args = pop(what);
        const fn = pop(what);
        stack.push(call(fn, args, what));
        break;
      }
      case 0x62: {
        // BUILD: a dict's state is its items; an object record keeps its state as read
        const state = pop('BUILD');
        const obj = top('BUILD');
        if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
        else if (obj && typeof obj === 'object' && 'pyClass' in obj) (obj as PyObject).state = state;
        else fail(`BUILD at byte ${at} on ${describe(obj)}`);
        break;
      }
      default: {
        const name = CODE_OPCODES[op];
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''} at byte ${at}`);
      }
    }
  }
}
