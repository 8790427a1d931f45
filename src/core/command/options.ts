/**
 * Introspection of a command's zod options, so that adapters can render them (Slack text parsing,
 * Discord typed options, help text) from the one definition. Only a small set of zod shapes is allowed;
 * `describeOptions` throws on anything else so a new command cannot silently lose an option.
 */
import { z } from 'zod';

export type OptionKind = 'string' | 'integer' | 'boolean' | 'enum' | 'user';

export interface OptionSpec {
  name: string;
  kind: OptionKind;
  description: string;
  required: boolean;
  choices?: readonly string[];
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  defaultValue?: unknown;
}

const userRefs = new WeakSet<z.ZodType>();

/** A chat user reference (Slack `<@U123>` or a Discord user option), delivered to handlers as the user id. */
export function userOption(description: string) {
  const schema = z
    .string()
    .regex(/^[A-Z0-9]+$|^\d{15,21}$/i, 'must be a user mention')
    .describe(description);
  userRefs.add(schema);
  return schema;
}

type AnyDef = {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  entries?: Record<string, string>;
  checks?: any[];
};

function defOf(schema: z.ZodType): AnyDef {
  return (schema as any).def as AnyDef;
}

export function describeOptions(name: string, schema: z.ZodObject<any>): OptionSpec[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, field]) => {
    let inner: z.ZodType = field;
    let required = true;
    let defaultValue: unknown;
    // zod 4 keeps `.describe()` on the instance it was called on, so `z.string().describe(…).optional()`
    // carries its description on the inner schema: look through the wrappers for it.
    let description = field.description;
    for (;;) {
      const def = defOf(inner);
      if (def.type === 'optional') required = false;
      else if (def.type === 'default') {
        required = false;
        defaultValue = def.defaultValue;
      } else break;
      inner = def.innerType!;
      description ??= inner.description;
    }
    if (!description) throw new Error(`Option "${key}" of command "${name}" has no .describe() text`);
    const def = defOf(inner);
    const spec: OptionSpec = { name: key, kind: 'string', description, required };
    if (defaultValue !== undefined) spec.defaultValue = defaultValue;
    const checks = (def.checks ?? []).map((c: any) => c._zod?.def ?? c);
    for (const c of checks) {
      if (c.check === 'greater_than') spec.min = c.value;
      if (c.check === 'less_than') spec.max = c.value;
      if (c.check === 'min_length') spec.minLength = c.minimum;
      if (c.check === 'max_length') spec.maxLength = c.maximum;
    }
    switch (def.type) {
      case 'string':
        spec.kind = userRefs.has(inner) ? 'user' : 'string';
        break;
      case 'number':
        if (!checks.some((c: any) => c.format === 'safeint')) {
          throw new Error(`Option "${key}" of "${name}": only integer numbers are supported (use z.number().int())`);
        }
        spec.kind = 'integer';
        break;
      case 'boolean':
        spec.kind = 'boolean';
        break;
      case 'enum':
        spec.kind = 'enum';
        spec.choices = Object.values(def.entries ?? {});
        break;
      default:
        throw new Error(`Option "${key}" of "${name}" has unsupported type ${def.type}`);
    }
    return spec;
  });
}
