/**
 * The methods of the reference study (Syne Tune's "Setting up an experimental study"), in tunelab:
 * RS and BO on the full space, ASHA and MOBSTER on the full space and with both activations fixed
 * to tanh or to relu.
 */
import { type MethodDefinition, methodDefinitions, withFixedHyperparameters } from '../../src/index.js';

const { RS, BO, ASHA, MOBSTER } = methodDefinitions;

/** Fix hp_activation_fn_1 and hp_activation_fn_2, so that the method no longer searches over them. */
const fixActivations = (method: MethodDefinition, value: 'tanh' | 'relu') =>
  withFixedHyperparameters(method, `${method.name}-${value.toUpperCase()}`, { hp_activation_fn_1: value, hp_activation_fn_2: value });

export const methods: Record<string, MethodDefinition> = Object.fromEntries(
  [RS, BO, ASHA, MOBSTER, fixActivations(ASHA, 'tanh'), fixActivations(MOBSTER, 'tanh'), fixActivations(ASHA, 'relu'), fixActivations(MOBSTER, 'relu')].map((m) => [
    m.name,
    m,
  ]),
);
