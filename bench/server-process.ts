import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/study/storage/local-postgres.js';

/** The built CLI, beside this bench's build. */
const cli = join(fileURLToPath(import.meta.url), '..', '..', 'src', 'cli.js');

/** `tunelab server` on a free loopback port over `storage`, waited for until it answers. */
export async function startServer(storage: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'server', '--storage', storage, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    if (await fetch(`${url}/openapi.json`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
}
