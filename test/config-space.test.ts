import { describe, expect, it } from 'vitest';
import {
  ConfigSpaceError,
  choice,
  configKey,
  configSpaceFromJSON,
  configSpaceToJSON,
  decodeConfig,
  encodeConfig,
  encodedDim,
  finrange,
  fixHyperparameters,
  logfinrange,
  lograndint,
  loguniform,
  ordinal,
  randint,
  sampleConfig,
  spaceSize,
  uniform,
  validateConfig,
  validateConfigSpace,
  type Domain,
} from '../src/config-space/index.js';
import { createRng } from '../src/util/rng.js';

const N = 20_000;
const draws = (d: Domain, seed = 7) => {
  const rng = createRng(seed);
  return Array.from({ length: N }, () => d.sample(rng));
};
/** Pearson chi-square statistic of observed counts against equal expected counts. */
const chiSquare = (counts: number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + ((c - e) * (c - e)) / e, 0);
};

describe('domain sampling', () => {
  it('uniform stays in bounds and is uniform (Kolmogorov-Smirnov)', () => {
    const xs = (draws(uniform(-2, 6)) as number[]).sort((a, b) => a - b);
    expect(xs[0]).toBeGreaterThanOrEqual(-2);
    expect(xs[N - 1]).toBeLessThanOrEqual(6);
    let ks = 0;
    xs.forEach((x, i) => (ks = Math.max(ks, Math.abs((x + 2) / 8 - (i + 1) / N))));
    expect(ks).toBeLessThan(1.36 / Math.sqrt(N)); // 95 % critical value
  });

  it('loguniform is uniform in log space', () => {
    const xs = draws(loguniform(1e-4, 1)) as number[];
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...xs)).toBeLessThanOrEqual(1);
    // each decade gets a quarter of the draws
    const counts = [0, 0, 0, 0];
    for (const x of xs) counts[Math.min(3, Math.floor(Math.log10(x) + 4))]++;
    expect(chiSquare(counts)).toBeLessThan(11.34); // chi2(3) at 99 %
  });

  it('randint covers every integer equally, including both bounds', () => {
    const xs = draws(randint(3, 9)) as number[];
    const counts = Array.from({ length: 7 }, (_, i) => xs.filter((x) => x === 3 + i).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(N);
    expect(chiSquare(counts)).toBeLessThan(16.81); // chi2(6) at 99 %
  });

  it('lograndint is roughly log-uniform over integers', () => {
    const xs = draws(lograndint(1, 1000)) as number[];
    expect(xs.every((x) => Number.isInteger(x) && x >= 1 && x <= 1000)).toBe(true);
    const below32 = xs.filter((x) => x < 32).length / N;
    // P(x < 31.6) ≈ log(32)/log(1000.5) ≈ 0.5 on the continuous log scale
    expect(below32).toBeGreaterThan(0.45);
    expect(below32).toBeLessThan(0.55);
  });

  it('choice, ordinal, finrange and logfinrange draw only their values, equally often', () => {
    for (const [d, values] of [
      [choice(['a', 'b', 'c']), ['a', 'b', 'c']],
      [ordinal([1, 10, 100]), [1, 10, 100]],
      [finrange(0, 0.6, 3), [0, 0.3, 0.6]],
      [logfinrange(8, 64, 4, { castInt: true }), [8, 16, 32, 64]],
      [logfinrange(16, 512, 6, { castInt: true }), [16, 32, 64, 128, 256, 512]],
    ] as [Domain, (string | number)[]][]) {
      expect(d.finiteValues).toEqual(values);
      const xs = draws(d);
      const counts = values.map((v) => xs.filter((x) => x === v).length);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(N);
      expect(chiSquare(counts)).toBeLessThan(16.81);
    }
  });

  it('the same seed gives the same configs', () => {
    const space = { a: uniform(0, 1), b: choice(['x', 'y']), c: lograndint(1, 100) };
    const s1 = Array.from({ length: 5 }, ((rng) => () => sampleConfig(space, rng))(createRng(3)));
    const s2 = Array.from({ length: 5 }, ((rng) => () => sampleConfig(space, rng))(createRng(3)));
    const s3 = Array.from({ length: 5 }, ((rng) => () => sampleConfig(space, rng))(createRng(4)));
    expect(s1).toEqual(s2);
    expect(s1).not.toEqual(s3);
  });
});

describe('encoding', () => {
  const space = {
    act: choice(['tanh', 'relu']),
    lr: loguniform(1e-5, 1),
    drop: uniform(0, 0.8),
    layers: randint(1, 5),
    units: lograndint(16, 1024),
    bs: ordinal([16, 32, 64]),
    d1: finrange(0, 0.6, 3),
    n1: logfinrange(16, 512, 6, { castInt: true }),
    fixed: 'const',
  };

  it('one-hot for choice, one column otherwise, constants left out', () => {
    expect(encodedDim(space)).toBe(2 + 7);
    const enc = encodeConfig(space, { act: 'relu', lr: 1e-5, drop: 0.8, layers: 1, units: 1024, bs: 64, d1: 0.3, n1: 16, fixed: 'const' });
    expect([...enc.slice(0, 2)]).toEqual([0, 1]);
    expect(enc[2]).toBe(0);
    expect(enc[3]).toBeCloseTo(1, 12);
    for (const u of enc) expect(u >= 0 && u <= 1).toBe(true);
  });

  it('decode(encode(x)) = x for sampled configs', () => {
    const rng = createRng(11);
    for (let i = 0; i < 500; i++) {
      const c = sampleConfig(space, rng);
      const back = decodeConfig(space, encodeConfig(space, c));
      for (const k of ['act', 'layers', 'units', 'bs', 'd1', 'n1', 'fixed']) expect(back[k]).toBe(c[k]);
      expect(back.lr).toBeCloseTo(c.lr as number, 9);
      expect(back.drop).toBeCloseTo(c.drop as number, 12);
    }
  });

  it('decodes any point of [0,1]^d to a valid config', () => {
    const rng = createRng(5);
    for (let i = 0; i < 500; i++) {
      const u = Array.from({ length: encodedDim(space) }, () => rng.next());
      u[0] = i % 2 ? 0 : 1; // edges too
      u[3] = i % 3 === 0 ? 1 : u[3];
      expect(() => validateConfig(space, decodeConfig(space, u))).not.toThrow();
    }
  });

  it('round-trips through JSON', () => {
    const json = JSON.parse(JSON.stringify(configSpaceToJSON(space)));
    const back = configSpaceFromJSON(json);
    expect(configSpaceToJSON(back)).toEqual(configSpaceToJSON(space));
    const c = sampleConfig(space, createRng(1));
    expect(configKey(back, c)).toBe(configKey(space, c));
    expect(json.n1).toEqual({ type: 'logfinrange', lower: 16, upper: 512, size: 6, cast_int: true });
    expect(json.fixed).toEqual({ type: 'constant', value: 'const' });
  });

  it('counts the configs of a finite space', () => {
    expect(spaceSize({ a: choice([1, 2]), b: finrange(0, 1, 5), c: 3 })).toBe(10);
    expect(spaceSize(space)).toBe(Infinity);
  });
});

describe('invalid spaces give clear errors', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => choice([]), /choice: needs a non-empty list/],
    [() => choice(['a', 'a']), /duplicate values/],
    [() => uniform(1, 1), /uniform\(1, 1\): lower must be < upper/],
    [() => uniform(2, 1), /lower must be < upper/],
    [() => uniform(0, Infinity), /upper must be a finite number/],
    [() => loguniform(0, 1), /loguniform\(0, 1\): a log domain needs a positive lower bound/],
    [() => lograndint(0, 10), /positive lower bound/],
    [() => randint(1.5, 3), /bounds must be integers/],
    [() => finrange(0, 1, 1), /finrange\(0, 1, 1\): size must be an integer >= 2/],
    [() => logfinrange(1, 2, 10, { castInt: true }), /duplicate values/],
    [() => validateConfigSpace({}), /the config space is empty/],
    [() => validateConfigSpace({ lr: { lower: 1 } }), /hyperparameter 'lr': expected a domain or a constant/],
    [() => configSpaceFromJSON({ lr: { type: 'gaussian' } }), /unknown domain type "gaussian"; valid types: choice, ordinal/],
    [() => fixHyperparameters({ a: choice(['x']) }, { b: 'x' }), /cannot fix 'b': not in the config space \(a\)/],
    [() => fixHyperparameters({ a: choice(['x', 'y']) }, { a: 'z' }), /cannot fix a="z": outside/],
    [() => validateConfig({ a: uniform(0, 1) }, { a: 2 }), /a=2 is outside/],
  ];
  it.each(cases.map(([f, re], i) => [i, f, re] as const))('case %i', (_, f, re) => {
    expect(f).toThrow(ConfigSpaceError);
    expect(f).toThrow(re);
  });
});
