/**
 * A reader for Python pickles of plain data (protocols 0–5): dicts, lists, tuples, sets, strings,
 * bytes, ints, floats, booleans, None, and `collections.OrderedDict`. Public benchmark tables are
 * shipped as such pickles; tunelab reads them without Python. Objects of other classes come back
 * as `PyObject` records (class name, constructor arguments, state) rather than failing, so that
 * callers can say what they met.
 *
 * Python values map to: dict → Map (tuple keys become `tupleKey(...)` strings), list → array,
 * tuple → PyTuple (a frozen array), set → Set, int → number (bigint past 2^53), bytes → Uint8Array.
 */
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
const mapKey = (k: unknown) => (k instanceof PyTuple ? tupleKey(...k) : k);

/** Looks up a Python dict read by `unpickle`, with tuple keys given as arrays. */
export function pyGet(dict: unknown, key: unknown): unknown {
  if (!(dict instanceof Map)) throw new Error(`expected a dict, got ${describe(dict)}`);
  return dict.get(Array.isArray(key) ? tupleKey(...key) : key);
}

export function describe(v: unknown): string {
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof PyTuple) return `tuple of ${v.length}`;
  if (Array.isArray(v)) return `list of ${v.length}`;
  if (v && typeof v === 'object' && 'pyClass' in v) return `object of class ${(v as PyObject).pyClass}`;
  return v === null ? 'None' : typeof v;
}

export function unpickle(data: Uint8Array): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const text = new TextDecoder();
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number) => {
    if (pos + n > data.length) throw new Error(`pickle truncated at byte ${pos} (needs ${n} more)`);
  };
  const u8 = () => {
    need(1);
    return data[pos++];
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = Number(view.getBigUint64(pos, true));
    pos += 8;
    return v;
  };
  const bytes = (n: number) => {
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw new Error(`pickle truncated at byte ${pos} (line without end)`);
    const s = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) throw new Error(`pickle stack underflow at byte ${pos}`);
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) throw new Error(`pickle: no mark at byte ${pos}`);
    stack = prev;
    return items;
  };
  const top = () => stack[stack.length - 1];
  const tuple = (items: unknown[]) => {
    const t = new PyTuple();
    t.push(...items);
    return Object.freeze(t);
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) throw new Error(`pickle: SETITEM on ${describe(dict)}`);
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(mapKey(items[i]), items[i + 1]);
  };
  const appendItems = (list: unknown, items: unknown[]) => {
    if (Array.isArray(list)) list.push(...items);
    else if (list instanceof Set) items.forEach((i) => list.add(mapKey(i)));
    else throw new Error(`pickle: APPEND on ${describe(list)}`);
  };
  const longFrom = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    const name = (fn as PyGlobal)?.pyGlobal;
    if (name === 'collections.OrderedDict' || name === 'builtins.dict' || name === '__builtin__.dict') {
      const m = new Map();
      if (args.length > 0 && Array.isArray(args[0])) for (const pair of args[0] as unknown[][]) m.set(mapKey(pair[0]), pair[1]);
      return m;
    }
    if (name === 'builtins.set' || name === '__builtin__.set') return new Set(((args[0] as unknown[]) ?? []).map(mapKey));
    return { pyClass: name ?? describe(fn), args } satisfies PyObject;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return pop();
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
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        stack.push(m);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark().map(mapKey)));
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longFrom(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longFrom(bytes(u32())));
        break;
      case 0x49: {
        // INT (text; '01'/'00' are True/False in protocol 0)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number(s));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number(line().replace(/L$/, '')));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number(line()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(bytes(u8())));
        break;
      case 0x58: // BINUNICODE
        stack.push(text.decode(bytes(u32())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(bytes(u64())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(bytes(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(bytes(u32())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text)
        stack.push(line());
        break;
      case 0x53: // STRING (quoted text)
        stack.push(line().slice(1, -1));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Uint8Array.from(bytes(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(Uint8Array.from(bytes(u32())));
        break;
      case 0x8e: // BINBYTES8
        stack.push(Uint8Array.from(bytes(u64())));
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
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(Number(line()), top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET
        const i = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(i)) throw new Error(`pickle: memo ${i} unset at byte ${at}`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: {
        // GLOBAL
        const mod = line();
        const name = line();
        stack.push({ pyGlobal: `${mod}.${name}` } satisfies PyGlobal);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const mod = pop();
        stack.push({ pyGlobal: `${mod}.${name}` } satisfies PyGlobal);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop() as unknown[];
        const fn = pop();
        stack.push(call(fn, [...args]));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop() as unknown[];
        const cls = pop();
        stack.push(call(cls, [...args]));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
        else if (obj && typeof obj === 'object') (obj as PyObject).state = state;
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        throw new Error(`pickle opcode 0x${op.toString(16)} at byte ${at} is not supported (not a plain-data pickle?)`);
    }
  }
}
