/**
 * The trial protocol shared by every backend and worker (DESIGN.md §8): the config arrives as
 * `--name value` arguments and as JSON in `$TUNELAB_CONFIG`, with `$TUNELAB_TRIAL_ID` and a
 * checkpoint folder `$TUNELAB_CHECKPOINT_DIR`; a result is one stdout line `[tunelab] {json}`.
 */
export const REPORT_PREFIX = '[tunelab] ';

export const ENV_CONFIG = 'TUNELAB_CONFIG';
export const ENV_TRIAL_ID = 'TUNELAB_TRIAL_ID';
export const ENV_CHECKPOINT_DIR = 'TUNELAB_CHECKPOINT_DIR';
