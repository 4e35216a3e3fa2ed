// The shadow config of a TurnoutConfig: the loader always fills `shadow`; hand-built configs
// (tests, older embedders) may leave it out and get the schema's defaults.
import type { ShadowConfig, TurnoutConfig } from '../config/types.ts';

export const SHADOW_DEFAULTS: ShadowConfig = Object.freeze({
  percent: 0,
  methods: Object.freeze(['GET', 'HEAD']),
  maxBodyBytes: 1_048_576,
  memoryBytes: 64 * 1_048_576,
  timeoutMs: 5000,
  ignoreHeaders: Object.freeze(['date']),
  ignoreJsonPaths: Object.freeze([]),
  noisePercent: 10,
});

export function shadowConfigOf(config: Pick<TurnoutConfig, 'shadow'>): ShadowConfig {
  return config.shadow ?? SHADOW_DEFAULTS;
}
