/**
 * The key the local stand-in for the Anthropic Admin API accepts (see /work/shared/admin-api.md), for demos and
 * for the client's contract tests. Deliberately not shaped like a real admin key, so it can never be mistaken for
 * one or trip secret scanners. Kept apart from the simulator so code that only needs the value does not load it.
 */
export const SIMULATOR_ADMIN_KEY = 'sk-ant-admin01-simulated-organization-key';
