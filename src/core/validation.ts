import type { StandardSchemaV1 } from './standard-schema.js';
import { ValidationFailedError } from '../errors/index.js';

export type { StandardSchemaV1 };

/**
 * Validates `value` against a Standard Schema (zod 4, valibot, arktype, …) and
 * returns the parsed value; throws ValidationFailedError naming each issue.
 */
export async function validateWith<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  where: string,
): Promise<StandardSchemaV1.InferOutput<S>> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues === undefined) return result.value;
  const issues = result.issues.map((issue) => {
    const path = issue.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new ValidationFailedError(`${where} failed schema validation: ${issues.join('; ')}`, {
    details: { where, issues },
  });
}
