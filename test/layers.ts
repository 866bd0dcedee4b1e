/**
 * The floors of DESIGN.md §11 as data, and a reader of `src/`'s imports that names every import
 * crossing them. test/layers.test.ts asserts there are none.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Floor of each top-level part of src/ (a folder, or cli.ts / index.ts), from the ground up. */
export const FLOORS: Record<string, number> = {
  util: 1,
  trial: 1,
  'config-space': 2,
  results: 2,
  aws: 2,
  schedulers: 3,
  blackbox: 3,
  methods: 4,
  backends: 4,
  tuner: 5,
  experiment: 5,
  launchers: 6,
  study: 6,
  operate: 6,
  plotting: 6,
  cloud: 6,
  executors: 7,
  server: 7,
  dashboard: 7,
  commands: 8,
  'cli.ts': 8,
  'index.ts': 8,
};

/** The imports allowed between two parts of one floor: from → the parts it may reach. */
export const SAME_FLOOR_ALLOWED: Record<string, readonly string[]> = {
  // S3 objects are made with the AWS client set-up of their own floor
  results: ['aws'],
  launchers: ['operate', 'cloud'],
  cloud: ['operate'],
  study: ['operate'],
  // plots of results in S3 fetch them with `tunelab sync`'s download
  plotting: ['operate', 'cloud'],
  dashboard: ['server'],
  executors: ['server'],
  'cli.ts': ['commands'],
  'index.ts': ['commands'],
  commands: ['cli.ts', 'index.ts'],
};

/** Imports from a lower floor that are still forbidden, with the reason the rule exists. */
export const FORBIDDEN_BELOW: Record<string, Record<string, string>> = {
  backends: {
    schedulers: 'a backend executes, it does not decide',
    methods: 'a backend executes, it does not decide',
  },
  blackbox: { schedulers: 'a benchmark table does not know the schedulers that run on it' },
};

export interface LayerViolation {
  file: string;
  imported: string;
  rule: string;
}

/** Relative module specifiers of a source file: static, re-exported and dynamic imports. */
export function importSpecifiers(source: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.[^'"]+)['"]/g,
    /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) specs.push(m[1]);
  return specs;
}

/** The part of src/ a path belongs to: its first folder, or the file name at the top. */
export function partOf(srcRoot: string, path: string): string | undefined {
  const rel = relative(srcRoot, path);
  if (rel.startsWith('..')) return undefined;
  return rel.split(/[\\/]/)[0].replace(/\.js$/, '.ts');
}

export function ruleBroken(from: string, to: string): string | undefined {
  if (from === to) return undefined;
  const a = FLOORS[from];
  const b = FLOORS[to];
  if (a === undefined) return `'${from}' has no floor in DESIGN.md §11`;
  if (b === undefined) return `'${to}' has no floor in DESIGN.md §11`;
  if (a < b) return `${from} (floor ${a}) must not import ${to} (floor ${b}): a lower floor never reaches up`;
  if (a === b) {
    if ((SAME_FLOOR_ALLOWED[from] ?? []).includes(to)) return undefined;
    return `${from} and ${to} share floor ${a}, and ${from} → ${to} is not one of the allowed imports between them`;
  }
  const why = FORBIDDEN_BELOW[from]?.[to];
  return why ? `${from} ↛ ${to}: ${why}` : undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

export function layerViolations(srcRoot: string): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const file of sourceFiles(srcRoot)) {
    const from = partOf(srcRoot, file)!;
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      const to = partOf(srcRoot, resolve(dirname(file), spec));
      if (to === undefined) continue;
      const rule = ruleBroken(from, to);
      if (rule) violations.push({ file: relative(srcRoot, file), imported: spec, rule });
    }
  }
  return violations;
}
