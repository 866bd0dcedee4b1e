import type { TrialListing } from '../operate/trials.js';
import type { Study } from './study.js';

/** Every suggestion of a study as a trial: its config, value (its observation: the worker told it by the study's rule), state, resource and worker. */
export async function studyTrials(study: Study): Promise<TrialListing[]> {
  const [suggestions, observations, reports] = await Promise.all([study.store.listSuggestions(study.id), study.store.listObservations(study.id), study.store.listReports(study.id)]);
  const observed = new Map(observations.map((o) => [o.suggestionId, o]));
  const resourceOf = new Map<number, number>();
  for (const r of reports) {
    const o = observed.get(r.suggestionId);
    // the report the observation came from: the last one with its value (else the last one)
    if (!o || o.value === null || r.value === o.value || !resourceOf.has(r.suggestionId)) resourceOf.set(r.suggestionId, r.resource);
  }
  return suggestions
    .map((s) => {
      const o = observed.get(s.id);
      const value = o && !o.failed && o.value !== null ? o.value : undefined;
      const resource = resourceOf.get(s.id);
      return { trialId: s.id, state: s.state, ...(value !== undefined && { value }), ...(resource !== undefined && { resource }), worker: s.workerId ?? '-', config: s.config };
    })
    .sort((a, b) => a.trialId - b.trialId);
}
