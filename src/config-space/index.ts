export * from './domains.js';
export * from './space.js';
export { type Condition, when, hasConditions, conditionHolds, conditionProblems, parameterOrder, repairConfig } from './conditions.js';
