import type { StandardSchemaV1 as Published } from '@standard-schema/spec';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { StandardSchemaV1 as Vendored } from '../../src/core/standard-schema.js';

describe('the vendored Standard Schema interface', () => {
  it('is interchangeable with @standard-schema/spec', () => {
    expectTypeOf<Published<string, number>>().toEqualTypeOf<Vendored<string, number>>();
    expectTypeOf<Vendored.InferOutput<typeof _schema>>().toEqualTypeOf<{ n: number }>();
  });
});
const _schema = z.object({ n: z.number() });
