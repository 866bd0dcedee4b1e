import { createRequire } from 'node:module';
import type seedrandom from 'seedrandom';

// Alea alone: seedrandom's index loads its seven generators and node:crypto, at every start-up
const alea = createRequire(import.meta.url)('seedrandom/lib/alea.js') as typeof seedrandom.alea;

/** A seeded random source whose full state can be saved in a JSON checkpoint. */
export interface Rng {
  /** Uniform on [0, 1). */
  next(): number;
  /** Opaque JSON-serialisable state; `restoreRng(state)` continues the same stream. */
  state(): RngState;
  /** Continue from a saved state, in place (every holder of this Rng follows). */
  setState(state: RngState): void;
}

type AleaState = seedrandom.State.Alea;
export type RngState = { readonly alea: AleaState };

function fromState(state: RngState): seedrandom.StatefulPRNG<AleaState> {
  if (!state || typeof state !== 'object' || !state.alea) throw new Error('invalid RNG state');
  return alea('', { state: state.alea });
}

function wrap(initial: seedrandom.StatefulPRNG<AleaState>): Rng {
  let prng = initial;
  return {
    next: () => prng(),
    state: () => ({ alea: prng.state() }),
    setState: (state) => {
      prng = fromState(state);
    },
  };
}

export function createRng(seed: number | string): Rng {
  return wrap(alea(String(seed), { state: true }));
}

export function restoreRng(state: RngState): Rng {
  return wrap(fromState(state));
}

/** Integer in [lo, hi] inclusive. */
export function randomInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** Standard normal deviate (Box-Muller; consumes two uniforms). */
export function randomNormal(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * 32-bit FNV-1a hash of the parts, for seeds that must depend on their inputs alone
 * (e.g. the seed of run i derives from (master seed, i), whatever else runs in the study).
 */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche so that nearby inputs give unrelated seeds
  return mix32(h);
}

/** murmur3's 32-bit finaliser: a cheap bijective mix of an integer. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
