/**
 * The SecretVerifier port over the official SDK: one Models API request (`GET /v1/models?limit=1`) made with the
 * found secret itself, at the same base URL as the Admin API. 200 → the key works; 401 → the API refuses it (a
 * fake rebuilt from a key's public hint, a revoked or inactive key); anything else → unknown. The secret goes only
 * into that request's x-api-key header: it is never logged (the SDK logs nothing by default, and errors are reduced
 * to their status here).
 */
import Anthropic, { AuthenticationError } from '@anthropic-ai/sdk';
import type { SecretVerifier } from '../core/ports/runtime.js';

export function createSecretVerifier(o: { baseUrl: string; timeoutMs?: number }): SecretVerifier {
  return {
    async verify(secret) {
      if (!secret.startsWith('sk-ant-api')) return 'unknown';
      const client = new Anthropic({
        apiKey: secret,
        baseURL: o.baseUrl,
        maxRetries: 1,
        timeout: o.timeoutMs ?? 10_000,
        logLevel: 'off',
      });
      try {
        await client.models.list({ limit: 1 });
        return 'valid';
      } catch (err) {
        return err instanceof AuthenticationError ? 'invalid' : 'unknown';
      }
    },
  };
}
