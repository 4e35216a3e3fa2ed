// The type of a deep-frozen value (config/load.ts freezes what it validated): every field and
// list readonly, branded numbers (Weight) kept as they are.
export type Frozen<T> = T extends string | number | boolean | bigint | symbol | null | undefined
  ? T
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<Frozen<U>>
    : { readonly [K in keyof T]: Frozen<T[K]> };
