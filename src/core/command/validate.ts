/**
 * The validate stage: raw option values (strings from text, typed values from Discord) are coerced by
 * their declared kind, then checked by the command's zod schema. Messages name the option and the rule.
 */
import type { RegisteredCommand } from './define.js';
import type { OptionSpec } from './options.js';
import { md } from './reply.js';

export type Validated = { ok: true; options: Record<string, unknown> } | { ok: false; message: string };

export function validateOptions(command: RegisteredCommand, raw: Record<string, unknown>): Validated {
  const coerced: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const spec = command.options.find((o) => o.name === name);
    if (!spec) return { ok: false, message: `${md.code(name)} is not an option of ${md.code(command.name)}.` };
    const c = coerce(spec, value);
    if (!c.ok) return c;
    coerced[name] = c.value;
  }
  const result = command.definition.options.safeParse(coerced);
  if (result.success) return { ok: true, options: result.data as Record<string, unknown> };
  const issue = result.error.issues[0]!;
  const name = String(issue.path[0] ?? '');
  const spec = command.options.find((o) => o.name === name);
  if (spec && issue.code === 'invalid_type' && coerced[name] === undefined) {
    return { ok: false, message: `${md.code(name)} is required: ${spec.description}` };
  }
  return { ok: false, message: `${md.code(name || 'options')}: ${issue.message}` };
}

type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

function coerce(spec: OptionSpec, value: unknown): Coerced {
  const shown = md.code(String(value));
  switch (spec.kind) {
    case 'integer': {
      if (typeof value === 'number' && Number.isInteger(value)) return range(spec, value);
      if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return range(spec, Number(value.trim()));
      return { ok: false, message: `${md.code(spec.name)} must be a whole number (you typed ${shown}).` };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      const v = String(value).trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return { ok: true, value: true };
      if (['false', 'no', 'off', '0'].includes(v)) return { ok: true, value: false };
      return { ok: false, message: `${md.code(spec.name)} must be true or false (you typed ${shown}).` };
    }
    case 'enum': {
      const v = String(value).trim().toLowerCase();
      const match = spec.choices?.find((c) => c.toLowerCase() === v);
      if (match) return { ok: true, value: match };
      return {
        ok: false,
        message: `${md.code(spec.name)} must be one of ${spec.choices?.map((c) => md.code(c)).join(', ')} (you typed ${shown}).`,
      };
    }
    case 'user': {
      // Slack escapes mentions as <@U123> or <@U123|name>; Discord gives the bare snowflake.
      const v = String(value).trim();
      const m = /^<@!?([A-Z0-9]+)(?:\|[^>]*)?>$/i.exec(v);
      if (m) return { ok: true, value: m[1] };
      if (/^[UW][A-Z0-9]{2,}$/.test(v) || /^\d{15,21}$/.test(v)) return { ok: true, value: v };
      return { ok: false, message: `${md.code(spec.name)} must mention a user, like @alice (you typed ${shown}).` };
    }
    default: {
      const v = String(value);
      if (spec.maxLength !== undefined && v.length > spec.maxLength) {
        return { ok: false, message: `${md.code(spec.name)} must be at most ${spec.maxLength} characters.` };
      }
      return { ok: true, value: v };
    }
  }
}

function range(spec: OptionSpec, n: number): Coerced {
  if (spec.min !== undefined && n < spec.min)
    return { ok: false, message: `${md.code(spec.name)} must be at least ${spec.min} (you typed ${n}).` };
  if (spec.max !== undefined && n > spec.max)
    return { ok: false, message: `${md.code(spec.name)} must be at most ${spec.max} (you typed ${n}).` };
  return { ok: true, value: n };
}
