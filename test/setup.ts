import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers.js';

// registered before the test file's own hooks, so it runs after them: its servers and children are stopped by then
afterAll(removeTempDirs);
