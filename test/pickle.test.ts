import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PickleError, PyTuple, pyGet, readPickle, tupleKey } from '../src/blackbox/pickle.js';

/** Runs Python (python3 is on every machine the tests run on) and returns the bytes it writes as hex. */
const python = (code: string): Buffer => Buffer.from(execFileSync('python3', ['-c', `import sys, pickle, collections\n${code}`], { encoding: 'utf8', maxBuffer: 1 << 28 }).trim(), 'hex');
const pickled = (expr: string, protocol: number) => python(`sys.stdout.write(pickle.dumps(${expr}, protocol=${protocol}).hex())`);

const plain = `{'000': [0.25, -1.5e-08, 3.0], 'b': {'c': None, 'd': True, 'e': False}, 'ints': [0, 255, 65535, -1, 2**31 - 1, -2**31, 2**40, -2**40], 'text': 'é✓ü', '': []}`;
const expected = new Map<unknown, unknown>([
  ['000', [0.25, -1.5e-8, 3]],
  [
    'b',
    new Map<unknown, unknown>([
      ['c', null],
      ['d', true],
      ['e', false],
    ]),
  ],
  ['ints', [0, 255, 65535, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40)]],
  ['text', 'é✓ü'],
  ['', []],
]);

describe('pickle reader, plain mode (the default)', () => {
  it.each([2, 3, 4, 5])('reads plain data of protocol %i, keeping the key order', (protocol) => {
    expect(readPickle(pickled(plain, protocol))).toEqual(expected);
  });

  it('reads a large framed dict (protocol 5) and shared (memoised) objects', () => {
    const data = readPickle(pickled(`{str(i).zfill(6): [i / 7, i * 1.5] for i in range(20000)}`, 5)) as Map<string, number[]>;
    expect(data.size).toBe(20000);
    expect([...data.keys()].slice(0, 3)).toEqual(['000000', '000001', '000002']);
    expect(data.get('012345')).toEqual([12345 / 7, 12345 * 1.5]);
    const shared = readPickle(pickled(`(lambda l: {'a': l, 'b': l})([1.0, 2.0])`, 2)) as Map<string, number[]>;
    expect(shared.get('a')).toBe(shared.get('b'));
  });

  it('refuses GLOBAL, STACK_GLOBAL and REDUCE: nothing named is looked up or called', () => {
    expect(() => readPickle(pickled(`collections.OrderedDict([('a', [1.0])])`, 2))).toThrow(/refused opcode GLOBAL at byte 2: it names or calls a Python object/);
    expect(() => readPickle(pickled(`collections.OrderedDict([('a', [1.0])])`, 4))).toThrow(/refused opcode STACK_GLOBAL at byte \d+/);
    const instance = python(`class Table: pass\nt = Table(); t.values = {'0': [1.0]}\nsys.stdout.write(pickle.dumps({'x': t}, protocol=5).hex())`);
    expect(() => readPickle(instance)).toThrow(/refused opcode STACK_GLOBAL/);
    // a hand-made REDUCE (call the thing below the argument tuple) is refused where it stands
    expect(() => readPickle(Buffer.from([0x80, 0x02, 0x5d, 0x5d, 0x52, 0x2e]))).toThrow(/refused opcode REDUCE at byte 4/);
    expect(() => readPickle(Buffer.from([0x80, 0x02, 0x29, 0x2e]))).toThrow(/unsupported opcode 0x29 at byte 2/);
  });

  it('every truncation is an error, and so are bytes after STOP and old protocols', () => {
    for (const protocol of [2, 5]) {
      const whole = pickled(plain, protocol);
      for (let n = 0; n < whole.length; n++) {
        expect(() => readPickle(whole.subarray(0, n)), `${n} of ${whole.length} bytes`).toThrow(n < 2 ? PickleError : /^pickle: truncated: /);
      }
      expect(() => readPickle(Buffer.concat([whole, Buffer.from([0x2e])]))).toThrow(/1 bytes after STOP/);
    }
    expect(() => readPickle(pickled(plain, 2).subarray(0, -1))).toThrow(/truncated: the data ends at byte \d+ before the STOP opcode/);
    const framed = pickled(`{str(i): [float(i)] for i in range(5000)}`, 4);
    expect(() => readPickle(framed.subarray(0, framed.length >> 1))).toThrow(/truncated: .* at byte \d+ needs \d+ bytes, the data ends at byte \d+/);
    expect(() => readPickle(pickled(plain, 1))).toThrow(/not a pickle of protocol 2 or later/);
    expect(() => readPickle(pickled(plain, 0))).toThrow(/not a pickle of protocol 2 or later/);
  });
});

describe('pickle reader, objects mode', () => {
  const read = (bytes: Uint8Array) => readPickle(bytes, 'objects');
  // tuples, sets, big ints, OrderedDict, infinities and text that protocol 0 escapes, in every protocol
  const rich = `{('a', 1): [1.5, None, True, False], 'b': (2, -300, 2**40, -2**70), 's': {1, 2}, 'fs': frozenset([3]), 'od': collections.OrderedDict([('x', 1), ('y', (2,))]), 't': 'é✓ü\\\\ \\n', 'f': [float('inf'), -0.5], 'e': ()}`;
  const tuple = (...items: unknown[]) => Object.freeze(Object.assign(new PyTuple(), items));
  const richExpected = new Map<unknown, unknown>([
    [tupleKey('a', 1), [1.5, null, true, false]],
    ['b', tuple(2, -300, 2 ** 40, -(2n ** 70n))],
    ['s', new Set([1, 2])],
    ['fs', new Set([3])],
    [
      'od',
      new Map<unknown, unknown>([
        ['x', 1],
        ['y', tuple(2)],
      ]),
    ],
    ['t', 'é✓ü\\ \n'],
    ['f', [Infinity, -0.5]],
    ['e', tuple()],
  ]);

  it.each([0, 1, 2, 3, 4, 5])('reads tuples, sets, big ints and OrderedDict of protocol %i', (protocol) => {
    const v = read(pickled(rich, protocol));
    expect(v).toEqual(richExpected);
    expect(pyGet(v, 'b')).toBeInstanceOf(PyTuple);
    expect(pyGet(v, ['a', 1])).toEqual([1.5, null, true, false]);
  });

  it('reads the plain data as the plain mode does, and shared objects of protocol 0 (PUT, GET) stay shared', () => {
    for (const protocol of [2, 5]) expect(read(pickled(plain, protocol))).toEqual(expected);
    const shared = read(pickled(`(lambda l: {'a': l, 'b': l})([1.0, 2.0])`, 0)) as Map<string, number[]>;
    expect(shared.get('a')).toBe(shared.get('b'));
    // Python 2's quoted STRING and a bytes object of protocol 3
    expect(read(Buffer.from("S'abc'\np0\n.", 'latin1'))).toBe('abc');
    expect(read(pickled(`b'\\x00\\xff'`, 3))).toEqual(Uint8Array.from([0, 255]));
  });

  it('turns objects of other classes into records: class name, arguments, state; nothing is called', () => {
    const code = (protocol: number) => python(`class Table: pass\nt = Table(); t.values = {'0': [1.0]}\nsys.stdout.write(pickle.dumps({'x': t}, protocol=${protocol}).hex())`);
    for (const protocol of [2, 5]) {
      expect(pyGet(read(code(protocol)), 'x')).toEqual({ pyClass: '__main__.Table', args: [], state: new Map([['values', new Map([['0', [1]]])]]) });
    }
    // protocols 0 and 1 rebuild it with copyreg._reconstructor, under its Python 2 name
    expect(pyGet(read(code(0)), 'x')).toMatchObject({ pyClass: 'copy_reg._reconstructor', args: [{ pyGlobal: '__main__.Table' }, { pyGlobal: '__builtin__.object' }, null] });
    expect(() => read(Buffer.from([0x80, 0x02, 0x4b, 0x01, 0x51, 0x2e]))).toThrow(/unsupported opcode 0x51 \(BINPERSID\) at byte 4/);
  });

  it('every truncation is an error, and so are bytes after STOP', () => {
    for (const protocol of [0, 2, 5]) {
      const whole = pickled(rich, protocol);
      for (let n = 0; n < whole.length; n++) expect(() => read(whole.subarray(0, n)), `protocol ${protocol}: ${n} of ${whole.length} bytes`).toThrow(/^pickle: truncated: /);
      expect(() => read(Buffer.concat([whole, Buffer.from([0x4e])]))).toThrow(/1 bytes after STOP/);
    }
  });
});
