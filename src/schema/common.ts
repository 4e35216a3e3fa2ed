// Schema pieces more than one input uses: a weight (CONTRACT §2: percent, at most 4 decimals).
import { Type } from 'typebox';
import { WEIGHT_SCALE, type Weight } from '../domain.ts';
import { defineRule } from './rules.ts';

/** At most 4 decimals; the range is the schema's (minimum/maximum), so each message says one thing. */
export const fourDecimals = defineRule<number>('weight.decimals', (v) => {
  const scaled = v * WEIGHT_SCALE;
  return Math.abs(scaled - Math.round(scaled)) < 1e-6 ? undefined : 'must have at most 4 decimals';
});

/** A Weight (domain.ts's brand): 0..100 (or the bounds given), at most 4 decimals. */
export function weightSchema(options: { minimum?: number; exclusiveMinimum?: number; maximum?: number; default?: number; description?: string } = {}) {
  const lower = options.exclusiveMinimum === undefined ? { minimum: options.minimum ?? 0 } : { exclusiveMinimum: options.exclusiveMinimum };
  const { minimum: _minimum, exclusiveMinimum: _exclusive, ...rest } = options;
  return Type.Unsafe<Weight>(Type.Number({ ...lower, maximum: 100, description: 'percent, at most 4 decimals', ...rest, ...fourDecimals }));
}

/** One of a few strings (`{ type: string, enum }`): a wrong type and a wrong word get their own messages. */
export function oneOf<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}
