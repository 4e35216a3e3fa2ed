// Named checks that JSON Schema cannot say with a clear message (an upstream target must be an
// origin; a token must be long enough, and say why). A schema names one with `x-rule`; the rule
// returns the message when the value is wrong, else undefined. Rules register once, at import of
// the module that defines them, under a unique name.
/** A rule returns a message when the value is wrong, else undefined. */
export type Rule<T> = (value: T) => string | undefined;

const RULES = new Map<string, Rule<never>>();

/** Registers `check` under `name` (once) and returns the schema fragment naming it. */
export function defineRule<T>(name: string, check: Rule<T>): { 'x-rule': string } {
  const known = RULES.get(name);
  if (known !== undefined && known !== check) throw new Error(`schema rule ${name} is defined twice`);
  RULES.set(name, check as Rule<never>);
  return { 'x-rule': name };
}

/** The rule's message for `value`, or undefined when it passes. An unknown rule name is a programming error. */
export function ruleMessage(name: string, value: unknown): string | undefined {
  const rule = RULES.get(name);
  if (rule === undefined) throw new Error(`schema rule ${name} is not defined`);
  return rule(value as never);
}

/** The fragment of a schema that names a rule, for `Type.String({ ...rule, … })`. */
export type RuleRef = ReturnType<typeof defineRule>;


/** A normaliser applied (x-normalise) once a string passed its checks: `lower`, `upper`, `origin`, or one defined here. */
export type Normaliser = (value: string) => string;

const NORMALISERS = new Map<string, Normaliser>([
  ['lower', (v) => v.toLowerCase()],
  ['upper', (v) => v.toUpperCase()],
  ['origin', (v) => new URL(v).origin],
]);

/** Registers `normalise` under `name` (once) and returns the schema fragment naming it. */
export function defineNormaliser(name: string, normalise: Normaliser): { 'x-normalise': string } {
  const known = NORMALISERS.get(name);
  if (known !== undefined && known !== normalise) throw new Error(`schema normaliser ${name} is defined twice`);
  NORMALISERS.set(name, normalise);
  return { 'x-normalise': name };
}

/** The value normalised by the named normaliser; an unknown name is a programming error. */
export function normalised(name: string, value: string): string {
  const normalise = NORMALISERS.get(name);
  if (normalise === undefined) throw new Error(`schema normaliser ${name} is not defined`);
  return normalise(value);
}
