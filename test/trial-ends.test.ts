import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRIAL_ENDS_FILE, TrialEndsWriter, readTrialEnds } from '../src/results/trial-ends.js';
import { tempDir } from './helpers.js';

describe('trials.jsonl', () => {
  it('appends ends at flushes only; a resume cuts the lines after its checkpoint and a partial tail; a damaged line says nothing', () => {
    const dir = tempDir();
    const w = TrialEndsWriter.create(dir);
    w.record(0, 'completed');
    w.record(1, 'stopped');
    expect(readFileSync(join(dir, TRIAL_ENDS_FILE), 'utf8')).toBe('');
    expect(w.pending).toBe(2);
    w.flush();
    w.record(2, 'failed');
    w.flush();
    expect(w.linesWritten).toBe(3);
    expect(readFileSync(join(dir, TRIAL_ENDS_FILE), 'utf8')).toBe('{"trial_id":0,"status":"completed"}\n{"trial_id":1,"status":"stopped"}\n{"trial_id":2,"status":"failed"}\n');
    // a crash in the middle of an append
    appendFileSync(join(dir, TRIAL_ENDS_FILE), '{"trial_id":3,"sta');
    expect([...readTrialEnds(dir)]).toEqual([[0, 'completed'], [1, 'stopped'], [2, 'failed']]);
    // the checkpoint counted 2 lines: the third is recorded again by the resumed run
    const r = TrialEndsWriter.resume(dir, 2);
    expect(r.linesWritten).toBe(2);
    r.record(2, 'completed');
    r.flush();
    expect([...readTrialEnds(dir)]).toEqual([[0, 'completed'], [1, 'stopped'], [2, 'completed']]);
    // a checkpoint of an older tunelab (no count) keeps every complete line
    appendFileSync(join(dir, TRIAL_ENDS_FILE), 'not json\n{"trial_id":4,"status":"exploded"}\n{"trial_id":5,"status":"stopped"}\n{"trial');
    expect(TrialEndsWriter.resume(dir, undefined).linesWritten).toBe(6);
    expect([...readTrialEnds(dir)]).toEqual([[0, 'completed'], [1, 'stopped'], [2, 'completed'], [5, 'stopped']]);
    expect(readFileSync(join(dir, TRIAL_ENDS_FILE), 'utf8').endsWith('{"trial_id":5,"status":"stopped"}\n')).toBe(true);
    // a folder without the file (a run written before it existed): no ends
    expect(readTrialEnds(tempDir()).size).toBe(0);
  });
});
