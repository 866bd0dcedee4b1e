import type { FastifyInstance } from 'fastify';
import { stopStudy, studyStatus } from '../study/status.js';
import type { ApiHeartbeat, ApiLogs, ApiTellAndAsk } from '../study/wire.js';
import { errorResponse, experimentParams, heartbeatBody, observationCreateBody, tellAndAskResponse, heartbeatResponse, logsBody, logsQuery, logsResponse, reportBody, statusResponse, stopBody, suggestionParams, workerHeaders, workerParams, decisionResponse, experimentResponse } from './schemas.js';
import { apiExperiment, apiSuggestion } from './sigopt.js';
import { type ObservationBody, metricValues, observationOf } from './sigopt-routes.js';
import type { StudyRegistry } from './studies.js';
import { actingWorker, requestKey, requiredWorker } from './workers.js';

/** tunelab's own routes, for what SigOpt lacks (DESIGN.md §9): intermediate reports, leases, log lines, stop. */

const errors = { 400: errorResponse, 401: errorResponse, 404: errorResponse };

export function tunelabRoutes(app: FastifyInstance, studies: StudyRegistry): void {
  app.post<{ Params: { id: string; sid: string }; Body: { resource: number; values: { name: string; value: number }[] } }>(
    '/v1/experiments/:id/suggestions/:sid/reports',
    { schema: { summary: "An intermediate result at a resource level: ASHA's decision across every worker (continue or stop)", params: suggestionParams, headers: workerHeaders, body: reportBody, response: { 200: decisionResponse, ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      const sid = Number(req.params.sid);
      const { metrics } = metricValues(served, req.body.values, 'values');
      const value = metrics[served.study.definition.metric];
      const worker = await actingWorker(req, served, sid);
      // the rule the store-backed workers apply, applied by the store in the order it serialises reports
      const decision = await served.store.report(served.study.id, sid, worker, { resource: req.body.resource, value, metrics }, served.study.rule);
      return { object: 'decision', decision };
    },
  );

  app.post<{ Params: { id: string }; Body: ObservationBody }>(
    '/v1/experiments/:id/tell_and_ask',
    {
      schema: {
        summary: "A worker's cycle in one call: the observation of its suggestion (POST …/observations' body), then its next suggestion; a refused observation (the suggestion was lost) is said, not an error",
        params: experimentParams,
        headers: workerHeaders,
        body: observationCreateBody,
        response: { 200: tellAndAskResponse, ...errors },
      },
    },
    async (req): Promise<ApiTellAndAsk> => {
      const served = await studies.get(req.params.id);
      requiredWorker(req);
      const { sid, worker, observation } = await observationOf(req, served, req.body);
      // no read-back of the observation: the worker needs only whether it was recorded
      const { told, next } = await served.study.tellAndTryAsk(sid, worker, observation, requestKey(req, worker));
      const s = 'suggestion' in next ? next.suggestion : undefined;
      return {
        object: 'tell_and_ask',
        recorded: told.recorded,
        refused: told.recorded ? null : told.reason,
        suggestion: s ? apiSuggestion(served.study.id, { id: s.suggestionId, config: s.config, state: 'open', createdAt: Date.now() }) : null,
        reason: 'none' in next ? next.none : null,
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { suggestions: string[] } }>(
    '/v1/experiments/:id/heartbeat',
    { schema: { summary: "Renews the leases of the worker's open suggestions; says which it lost and whether the study was stopped", params: experimentParams, headers: workerHeaders, body: heartbeatBody, response: { 200: heartbeatResponse, ...errors } } },
    async (req): Promise<ApiHeartbeat> => {
      const served = await studies.get(req.params.id);
      const worker = requiredWorker(req);
      const r = await served.store.renew(served.study.id, worker, req.body.suggestions.map(Number), served.study.leaseSeconds);
      return { object: 'heartbeat', lost: r.lost.map(String), status: r.status, stop_mode: r.stopMode };
    },
  );

  app.post<{ Params: { id: string }; Body: { lines: { suggestion: string; stream: 'stdout' | 'stderr'; line: string; time: number }[] } }>(
    '/v1/experiments/:id/logs',
    { schema: { summary: "Trial output lines of a worker (tunelab study logs prints them)", params: experimentParams, headers: workerHeaders, body: logsBody, response: { 204: { type: 'null' }, ...errors } } },
    async (req, reply) => {
      const served = await studies.get(req.params.id);
      const worker = requiredWorker(req);
      await served.store.appendLogs(
        served.study.id,
        req.body.lines.map((l) => ({ suggestionId: Number(l.suggestion), workerId: worker.workerId, stream: l.stream, line: l.line, time: l.time })),
      );
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after: string; limit: string } }>(
    '/v1/experiments/:id/logs',
    { schema: { summary: 'Trial output lines after a line id, oldest first (tunelab study logs)', params: experimentParams, querystring: logsQuery, response: { 200: logsResponse, ...errors } } },
    async (req): Promise<ApiLogs> => {
      const served = await studies.get(req.params.id);
      const lines = await served.store.readLogs(served.study.id, Number(req.query.after), Number(req.query.limit));
      return { object: 'logs', data: lines.map((l) => ({ id: l.id, suggestion: String(l.suggestionId), worker: l.workerId, stream: l.stream, line: l.line, time: l.time })) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/experiments/:id/status',
    { schema: { summary: "The study's status as tunelab study status prints it: observations, suggestions by state, workers and hosts, the best", params: experimentParams, response: { 200: statusResponse, ...errors } } },
    async (req) => {
      // where the server keeps its store is the server's business: the client names the study by its URL
      const { storage: _, ...report } = await studyStatus((await studies.get(req.params.id)).study);
      return report;
    },
  );

  app.post<{ Params: { id: string }; Body: { abandon: boolean } }>(
    '/v1/experiments/:id/stop',
    { schema: { summary: 'Stops the study: workers finish their trials (or abandon them) and exit', params: experimentParams, body: stopBody, response: { 200: experimentResponse, ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      await stopStudy(served.study, req.body.abandon);
      return apiExperiment(await served.study.refresh(), await served.progress());
    },
  );

  app.delete<{ Params: { id: string; worker: string } }>(
    '/v1/experiments/:id/workers/:worker',
    { schema: { summary: 'A worker says it exits (tunelab study status)', params: workerParams, response: { 204: { type: 'null' }, ...errors } } },
    async (req, reply) => {
      const served = await studies.get(req.params.id);
      await served.store.workerExited(served.study.id, req.params.worker);
      return reply.code(204).send();
    },
  );
}
